;; edn_reference.clj — Clojure's own EDN read/print throughput on a corpus
;; file (one document a line, as written by `edn_bench --dump=FILE`).
;;
;;   clojure bench/reference/edn_reference.clj CORPUS [WARMUP-SECONDS] [MEASURE-SECONDS]
;;
;; Prints `clojure_read_mbps X` and `clojure_write_mbps Y`, where MB = 10^6
;; bytes of the corpus text, the same measure edn_bench uses. Each phase first
;; runs WARMUP-SECONDS untimed so the JIT has compiled the hot paths. Time is
;; the JVM's CPU time (all its threads, so GC counts) like Google Benchmark's
;; CPU time: run it pinned to one core (taskset) and a busy machine does not
;; skew the comparison.
(require '[clojure.edn :as edn]
         '[clojure.java.io :as io]
         '[clojure.string :as str])

(defn- utf8-bytes ^long [^String s] (alength (.getBytes s "UTF-8")))

(def ^:private ^com.sun.management.OperatingSystemMXBean os-bean
  (java.lang.management.ManagementFactory/getOperatingSystemMXBean))

(defn- cpu-nanos ^long [] (.getProcessCpuTime os-bean))

(defn- run-for
  "Calls (f) repeatedly for at least `seconds` of CPU time; returns
  [rounds elapsed-cpu-nanos]."
  [seconds f]
  (let [budget (long (* seconds 1e9))
        start (cpu-nanos)]
    (loop [rounds 0]
      (f)
      (let [elapsed (- (cpu-nanos) start)]
        (if (< elapsed budget)
          (recur (inc rounds))
          [(inc rounds) elapsed])))))

(defn- throughput
  "MB/s of `bytes` per call of f, timed after an untimed warm-up."
  [bytes warmup measure f]
  (run-for warmup f)
  (let [[rounds nanos] (run-for measure f)]
    (/ (* (double bytes) rounds) (/ nanos 1e3))))

(defn -main
  "Results are summed into `sink` so the JIT cannot drop the work."
  [path & [warmup measure]]
  (let [warmup (Double/parseDouble (or warmup "8"))
        measure (Double/parseDouble (or measure "8"))
        lines (vec (remove str/blank? (str/split-lines (slurp (io/file path) :encoding "UTF-8"))))
        bytes (reduce + (map utf8-bytes lines))
        values (mapv edn/read-string lines)
        sink (volatile! 0)
        read-all #(vswap! sink + (count (mapv edn/read-string lines)))
        write-all #(binding [*print-namespace-maps* false]
                     (vswap! sink + (reduce + (map (fn [v] (count (pr-str v))) values))))]
    (println "corpus" path (count lines) "documents" bytes "bytes")
    (println "clojure_read_mbps" (format "%.1f" (throughput bytes warmup measure read-all)))
    (println "clojure_write_mbps" (format "%.1f" (throughput bytes warmup measure write-all)))
    (when (zero? @sink) (println "(empty corpus)"))))

(apply -main *command-line-args*)
