;; store_interop.clj — the original file store's format against ours.
;;
;;   clojure tests/clojure/store_interop.clj PATH/TO/store_copy WORK-DIR
;;
;; 1. Writes conversations into WORK-DIR/original exactly the way the original
;;    Clojure file store does: pr-str into a sibling temporary file, then a
;;    rename over <cid>.edn (plus two records that must be skipped).
;; 2. Runs store_copy: our file_store loads WORK-DIR/original and saves every
;;    conversation into WORK-DIR/copied.
;; 3. Reads WORK-DIR/copied with clojure.edn/read-string (#inst reader,
;;    :default tagged-literal) and checks every conversation equals the
;;    original, strictly: same collection kinds and number classes, not just =.
;; Exits 1 with a list of problems on any difference.
(require '[clojure.edn :as edn]
         '[clojure.instant :as instant]
         '[clojure.java.io :as io]
         '[clojure.java.shell :as shell]
         '[clojure.string :as str])
(import '[java.io File]
        '[java.util Date Random UUID])

;; ---- the data ---------------------------------------------------------------

(def ^Random rng (Random. 20240607))
(defn- pick [xs] (nth xs (.nextInt rng (count xs))))
(defn- token [prefix n]
  (apply str prefix (repeatedly n #(pick "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"))))
(defn- date [] (Date. (+ 1700000000000 (long (.nextInt rng 2000000000)))))

(def words ["buy" "milk" "Zürich" "café" "東京" "€12.50" "🙂" "say \"hi\"" "back\\slash"
            "line\nbreak" "tab\tbed" "ctrl\u0001char" "" "  spaced  " "#not-a-tag" ":not-a-kw"])

(defn- instance [iid parent i]
  (cond-> {:instance/id iid
           :instance/type (pick [:app.todo/list :app.form/editor :demo/counter])
           :instance/parent parent
           :instance/rendered? (.nextBoolean rng)
           :count (long (.nextInt rng 1000))
           :title (str/join " " (repeatedly (inc (.nextInt rng 5)) #(pick words)))
           :items (vec (for [k (range (.nextInt rng 6))]
                         {:todo/id k :todo/title (pick words) :todo/done? (.nextBoolean rng)
                          :todo/tags (set (take (.nextInt rng 3) [:home :work :urgent]))
                          :todo/due (date)}))
           :price (* 0.01 (.nextInt rng 100000))
           :limits [Long/MIN_VALUE Long/MAX_VALUE 0 -1 1.0E300 -2.5E-300 ##Inf ##-Inf]
           :big 123456789012345678901234567890N
           :small-big 7N
           :decimal 12.50M
           :ratio 22/7
           :chars [\a \newline \space \tab \é \λ \"]
           :path '(x/y 1 nil "s")
           :sym 'app/handler
           :nested {"string key" [1 2 3] [:vector :key] "v" 7 #{} nil false}
           :uid (UUID. (.nextLong rng) (.nextLong rng))
           :custom (tagged-literal 'my/tag {:k [1 2] :inner (tagged-literal 'other/tag "x")})
           :empty [[] {} () #{} ""]}
    parent (assoc :instance/resume (pick [:on-name :edited :confirmed]))))

(defn- body [cid]
  (let [iids (vec (repeatedly (+ 1 (.nextInt rng 4)) #(token "ix-" 12)))]
    {:conv/id cid
     :conv/instances (into {} (map-indexed (fn [i iid] [iid (instance iid (when (pos? i) (iids (dec i))) i)]) iids))
     :conv/stack iids
     :conv/created (date)
     :conv/touched (date)
     :conv/owner (token "tok-" 22)
     :conv/url (str "/app/" (token "" 6) "?tab=all")}))

(defn- conversation [cid]
  (assoc (body cid) :conv/history (vec (repeatedly (.nextInt rng 3) #(body cid)))))

(defn- large-conversation [cid]
  (assoc (conversation cid)
         :blob (apply str (repeat 20000 "0123456789abcdefghijklmnopqrstuvwxyzäöü\n"))
         :rows (vec (for [i (range 5000)] {:row i :label (str "row " i) :at (Date. (* i 1000))}))))

;; ---- the original file store's save --------------------------------------------

(defn- save-like-original! [dir conv]
  (let [target (io/file dir (str (:conv/id conv) ".edn"))
        tmp (File/createTempFile (str "." (:conv/id conv) ".") ".tmp" (io/file dir))]
    (spit tmp (pr-str conv))
    (when-not (.renameTo tmp target)
      (throw (ex-info "rename failed" {:from tmp :to target})))))

;; ---- strict comparison ------------------------------------------------------------

(defn- kind [x]
  (cond (map? x) :map (vector? x) :vector (set? x) :set (seq? x) :list
        (instance? clojure.lang.TaggedLiteral x) :tagged :else (class x)))

;; The path to the first difference between a and b, or nil when they are the
;; same: = on leaves, but also the same collection kinds and leaf classes
;; (Clojure's = alone would accept 1 for 1N and a list for a vector).
(defn- first-diff [a b path]
  (cond
    (not= (kind a) (kind b)) [path (kind a) (kind b)]
    (map? a) (or (some (fn [[k v]] (if (contains? b k)
                                     (first-diff v (get b k) (conj path k))
                                     [(conj path k) :missing]))
                       a)
                 (when (not= (count a) (count b)) [path :extra-keys]))
    (or (vector? a) (seq? a)) (or (when (not= (count a) (count b)) [path :count])
                                  (some identity (map #(first-diff %1 %2 (conj path %3)) a b (range))))
    (= :tagged (kind a)) (if (= (:tag a) (:tag b))
                           (first-diff (:form a) (:form b) (conj path (:tag a)))
                           [path (:tag a) (:tag b)])
    (set? a) (when (not= a b) [path a b])
    :else (when (not= a b) [path (pr-str a) (pr-str b)])))

(def edn-opts {:readers {'inst instant/read-instant-date} :default tagged-literal})

;; ---- the test ------------------------------------------------------------------------

(defn- fail! [problems]
  (binding [*out* *err*]
    (println "store interop FAILED:")
    (doseq [p (take 20 problems)] (println " -" p)))
  (shutdown-agents)
  (System/exit 1))

(defn -main [copier work]
  (let [original (io/file work "original")
        copied (io/file work "copied")
        convs (concat (for [i (range 60)] (conversation (token "cv-" 22)))
                      [(large-conversation "cv-large") (conversation "cv-namespaced-map")])
        by-cid (into {} (map (juxt :conv/id identity)) convs)
        bad {"not-a-map.edn" "[1 2 3]" "wrong-id.edn" "{:conv/id \"someone-else\"}"}]
    (.mkdirs original)
    (doseq [c convs]
      ;; The REPL prints namespaced maps as #:conv{...}: our reader must take both.
      (binding [*print-namespace-maps* (= "cv-namespaced-map" (:conv/id c))]
        (save-like-original! original c)))
    (doseq [[name text] bad] (spit (io/file original name) text))
    (let [{:keys [exit out err]} (shell/sh copier (str original) (str copied))
          expected (format "loaded %d skipped %d" (count convs) (count bad))
          files (sort (.list copied))
          problems
          (concat
            (when-not (zero? exit) [(str "store_copy exited " exit ": " err)])
            (when-not (= expected (str/trim out)) [(str "store_copy printed " (pr-str out) ", expected " expected)])
            (when-not (str/includes? (slurp (io/file original "wrong-id.edn")) "someone-else")
              ["a skipped record was modified"])
            (when-not (= (count files) (count convs))
              [(str (count files) " files in " copied ", expected " (count convs) ": " (vec (take 5 files)))])
            (for [name files
                  :let [v (try (edn/read-string edn-opts (slurp (io/file copied name)))
                               (catch Exception e e))
                        cid (when (map? v) (:conv/id v))
                        orig (by-cid cid)]
                  :let [diff (when (and orig (= name (str cid ".edn"))) (first-diff orig v []))]
                  :when (or (nil? orig) (not= name (str cid ".edn")) diff)]
              (cond (instance? Exception v) (str name ": does not read back: " (.getMessage ^Exception v))
                    (nil? orig) (str name ": unknown :conv/id " (pr-str cid))
                    (not= name (str cid ".edn")) (str name ": holds " (pr-str cid))
                    :else (str name ": differs from the original at " (pr-str diff)))))]
      (when (seq problems) (fail! problems))
      (println "store interop ok:" (count convs) "conversations, Clojure -> stube -> Clojure")
      (shutdown-agents))))

(apply -main *command-line-args*)
