;; store_reference.clj — the original stube file store's algorithm, timed on a
;; corpus file (one conversation a line, as written by `store_bench --dump=FILE`).
;;
;;   clojure bench/reference/store_reference.clj CORPUS DIR [ROUNDS]
;;
;; save     = pr-str, spit into a sibling temporary file, rename over <cid>.edn
;; load-all = list the directory, slurp every *.edn, clojure.edn/read-string
;;            (default tagged-literal handler), into a map by :conv/id
;;
;; Like store_bench: one untimed warm-up pass for the JIT, then a "create"
;; round into an empty DIR, then ROUNDS "replace" rounds over it and ROUNDS
;; load-all rounds (medians). Dirty pages are synced between rounds. Prints
;; `reference_save_create X`, `reference_save_replace X`, `reference_load X`
;; in conversations per second.
(require '[clojure.edn :as edn]
         '[clojure.java.io :as io]
         '[clojure.string :as str])
(import '[java.io File])

(def ^:private edn-opts {:default tagged-literal})

(defn- save! [^File dir conv]
  (let [cid (:conv/id conv)
        target (io/file dir (str cid ".edn"))
        tmp (io/file dir (str "." cid ".edn.tmp"))]
    (spit tmp (pr-str conv))
    (when-not (.renameTo tmp target)
      (throw (ex-info "rename failed" {:cid cid})))
    conv))

(defn- load-all [^File dir]
  (into {}
        (for [^File f (.listFiles dir)
              :when (str/ends-with? (.getName f) ".edn")
              :let [v (edn/read-string edn-opts (slurp f))]
              :when (and (map? v) (string? (:conv/id v)))]
          [(:conv/id v) v])))

(defn- sync! [] (.waitFor (.exec (Runtime/getRuntime) "sync")))

(defn- rate
  "Conversations per second of one call of f, which handles n of them."
  [n f]
  (sync!)
  (let [start (System/nanoTime)]
    (f)
    (/ n (/ (- (System/nanoTime) start) 1e9))))

(defn- median [xs] (nth (sort xs) (quot (count xs) 2)))

(defn- delete-dir! [^File dir]
  (when (.exists dir)
    (doseq [^File f (.listFiles dir)] (.delete f))
    (.delete dir)))

(defn -main [corpus dir & [rounds]]
  (let [rounds (Long/parseLong (or rounds "3"))
        convs (binding [*print-namespace-maps* false]
                (->> (str/split-lines (slurp corpus :encoding "UTF-8"))
                     (remove str/blank?)
                     (mapv #(edn/read-string edn-opts %))))
        n (count convs)
        dir (io/file dir)
        warm (io/file (str dir "-warmup"))
        save-all #(binding [*print-namespace-maps* false] (doseq [c convs] (save! dir c)))]
    ;; JIT warm-up: the whole save and load path once, off the clock.
    (delete-dir! warm)
    (.mkdirs warm)
    (binding [*print-namespace-maps* false] (doseq [c convs] (save! warm c)))
    (load-all warm)
    (delete-dir! warm)
    (delete-dir! dir)
    (.mkdirs dir)
    (let [create (rate n save-all)
          replace (median (repeatedly rounds #(rate n save-all)))
          load (median (repeatedly rounds #(rate n (fn [] (when-not (= n (count (load-all dir)))
                                                            (throw (ex-info "lost records" {})))))))]
      (println "reference_save_create" (format "%.1f" (double create)))
      (println "reference_save_replace" (format "%.1f" (double replace)))
      (println "reference_load" (format "%.1f" (double load))))
    (delete-dir! dir)
    (shutdown-agents)))

(apply -main *command-line-args*)
