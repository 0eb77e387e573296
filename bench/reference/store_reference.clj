;; store_reference.clj — the original stube file store's algorithm, timed on a
;; corpus file (one conversation a line, as written by `store_bench --dump=FILE`).
;;
;;   clojure bench/reference/store_reference.clj CORPUS DIR [ROUNDS]
;;
;; save     = pr-str, spit into a sibling temporary file, rename over <cid>.edn
;; load-all = list the directory, slurp every *.edn, clojure.edn/read-string
;;            (default tagged-literal handler), into a map by :conv/id
;;
;; Like store_bench: one untimed warm-up pass for the JIT, then ROUNDS
;; "create" rounds into an empty DIR, ROUNDS "replace" rounds over it and
;; ROUNDS load-all rounds (medians). Dirty pages are synced before each round.
;; Prints `reference_save_create X`, `reference_save_replace X` and
;; `reference_load X` in conversations per second, each followed by a
;; `…_cpu_us Y` line: JVM CPU microseconds per conversation.
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

(defn- cpu-nanos
  "CPU time of the whole JVM so far (all threads, JIT and GC included)."
  ^long []
  (.getProcessCpuTime ^com.sun.management.OperatingSystemMXBean
                      (java.lang.management.ManagementFactory/getOperatingSystemMXBean)))

(defn- rate
  "[conversations per second, CPU microseconds per conversation] of one call
  of f, which handles n of them."
  [n f]
  (sync!)
  (let [start (System/nanoTime)
        cpu (cpu-nanos)]
    (f)
    [(/ n (/ (- (System/nanoTime) start) 1e9))
     (/ (- (cpu-nanos) cpu) 1e3 n)]))

(defn- median [xs] (nth (sort xs) (quot (count xs) 2)))

(defn- median-rate [runs] [(median (map first runs)) (median (map second runs))])

(defn- report [key [ops cpu-us]]
  (println key (format "%.1f" (double ops)))
  (println (str key "_cpu_us") (format "%.1f" (double cpu-us))))

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
    (let [create (median-rate (doall (for [_ (range rounds)]
                                       (do (delete-dir! dir) (.mkdirs dir) (rate n save-all)))))
          replace (median-rate (doall (repeatedly rounds #(rate n save-all))))
          load (median-rate (doall (repeatedly rounds
                                               #(rate n (fn [] (when-not (= n (count (load-all dir)))
                                                                 (throw (ex-info "lost records" {}))))))))]
      (report "reference_save_create" create)
      (report "reference_save_replace" replace)
      (report "reference_load" load))
    (delete-dir! dir)
    (shutdown-agents)))

(apply -main *command-line-args*)
