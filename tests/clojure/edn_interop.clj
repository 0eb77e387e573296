;; edn_interop.clj — does stube's EDN agree with Clojure's reader and printer?
;;
;;   clojure tests/clojure/edn_interop.clj STUBE-EDN-BINARY [WORK-DIR]
;;
;; Every case is EDN text that Clojure reads: what Clojure's pr-str writes for
;; generated data (a fixed seed, so every run checks the same values), hand-
;; picked edge values, and hand-written text using reader syntax pr-str never
;; writes (comments, discards, namespaced maps, offsets in #inst, ...). All
;; cases go into one file; `stube-edn print` and `stube-edn fmt` re-print it,
;; and Clojure reads stube's text back and must find each value equal to what
;; it read from the original text: same classes (1 is not 1N, [] is not ()),
;; BigDecimals with the same scale, doubles by Double/equals (so ##NaN equals
;; itself and -0.0 differs from 0.0), #inst by instant to the nanosecond.
;; Cases Clojure rejects must be rejected by `stube-edn check` as well.
;; Exits 1 with a diff of every disagreement.
(ns edn-interop
  (:require [clojure.edn :as edn]
            [clojure.instant :as instant]
            [clojure.java.io :as io]
            [clojure.java.shell :as shell]
            [clojure.string :as str])
  (:import (java.math BigDecimal BigInteger)
           (java.util Date Random UUID)
           (java.sql Timestamp)
           (clojure.lang TaggedLiteral)))

;; #inst as java.sql.Timestamp so nanoseconds survive; other tags stay data.
(def read-opts {:readers {'inst instant/read-instant-timestamp} :default tagged-literal})

;; ---------------------------------------------------------------------------
;; Comparison

(defn- instant? [x] (instance? Date x))  ; Timestamp is a Date

(defn same?
  "Equality strict about representation: what a round trip must preserve."
  [a b]
  (letfn [(same-seq? [x y] (and (= (count x) (count y)) (every? true? (map same? x y))))]
    (cond
      (or (nil? a) (nil? b)) (and (nil? a) (nil? b))
      (instant? a) (and (instant? b) (= (.toInstant ^Date a) (.toInstant ^Date b)))
      (map? a) (and (map? b) (= (count a) (count b))
                    (every? (fn [[k v]]
                              (when-let [e (find b k)] (and (same? k (key e)) (same? v (val e)))))
                            a))
      (set? a) (and (set? b) (= (count a) (count b))
                    (every? (fn [x] (and (contains? b x) (same? x (get b x)))) a))
      (vector? a) (and (vector? b) (same-seq? a b))
      (seq? a) (and (seq? b) (same-seq? a b))
      (instance? TaggedLiteral a) (and (instance? TaggedLiteral b) (= (:tag a) (:tag b))
                                       (same? (:form a) (:form b)))
      :else (and (= (class a) (class b)) (.equals ^Object a b)))))

(defn- kind [x]
  (cond (map? x) :map (set? x) :set (vector? x) :vector (seq? x) :list :else (class x)))

(defn first-diff
  "Path to the first place where a and b differ, with both sides there."
  ([a b] (first-diff a b []))
  ([a b path]
   (cond
     (same? a b) nil
     (and (map? a) (map? b) (= (set (keys a)) (set (keys b))))
     (some (fn [[k v]] (first-diff v (get b k) (conj path k))) a)
     (and (sequential? a) (= (kind a) (kind b)) (= (count a) (count b)))
     (some identity (map-indexed (fn [i [x y]] (first-diff x y (conj path i))) (map vector a b)))
     :else {:path path :expected a :actual b})))

(defn- show [x]
  (binding [*print-namespace-maps* false]
    (let [s (pr-str x)] (if (> (count s) 400) (str (subs s 0 400) " …") s))))

;; ---------------------------------------------------------------------------
;; Generated values (fixed seed)

(def ^Random rng (Random. 20240601))
(defn- below [n] (.nextInt rng (int n)))
(defn- chance [p] (< (.nextDouble rng) p))
(defn- pick [xs] (nth xs (below (count xs))))

(defn- code-point-string [cps] (String. (int-array cps) 0 (count cps)))

(def ^:private string-code-points
  (vec (concat (range 0x20 0x7f)                        ; printable ASCII
               [0x22 0x5c 0x0a 0x09 0x0d 0x0c 0x08]      ; escaped by pr-str
               [0x00 0x01 0x07 0x0b 0x1b 0x1f 0x7f]      ; raw control characters
               [0xe9 0xfc 0xdf 0xa0 0x20ac 0x2028 0x2029 0xfeff 0xfffd 0x200d]
               [0x65e5 0x672c 0x8a9e 0x03bb 0x0416]      ; CJK, Greek, Cyrillic
               [0x1f600 0x1f680 0x10000 0x10ffff])))     ; beyond the BMP

(defn gen-string []
  (let [n (if (chance 0.05) (+ 100 (below 400)) (below 16))]
    (code-point-string (repeatedly n #(pick string-code-points)))))

(def ^:private named-chars [\newline \space \tab \return \formfeed \backspace])
(def ^:private plain-chars
  (vec (concat (map char (range 0x21 0x7f))             ; includes \( \" \\ \; \,
               (map char [0xe9 0x00e0 0x20ac 0x65e5 0x03bb 0x2028 0xfffd]))))

(defn gen-char [] (if (chance 0.3) (pick named-chars) (pick plain-chars)))

(def ^:private name-start "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*!_?<>=")
(def ^:private name-rest (str name-start "0123456789-+.'#"))

(defn- gen-name []
  (let [s (apply str (pick (concat name-start ["é" "λ" "Ω"]))
                 (repeatedly (below 10) #(pick name-rest)))]
    (if (#{"nil" "true" "false"} s) (str s "?") s)))

(defn- gen-ns []
  (str/join "." (repeatedly (inc (below 3)) gen-name)))

(defn gen-keyword []
  (if (chance 0.5) (keyword (gen-name)) (keyword (gen-ns) (gen-name))))

(defn gen-symbol []
  (if (chance 0.5) (symbol (gen-name)) (symbol (gen-ns) (gen-name))))

(defn gen-long []
  (pick [0 1 -1 Long/MAX_VALUE Long/MIN_VALUE (inc Long/MIN_VALUE)
         (- (below 2000) 1000) (.nextLong rng) (.nextInt rng)
         (let [p (bit-shift-left 1 (below 63))] (pick [p (dec p) (- p)]))]))

(defn- gen-big-integer ^BigInteger []
  (let [b (BigInteger. (int (inc (below 200))) rng)] (if (chance 0.5) (.negate b) b)))

(defn gen-bigint []
  (pick [0N 1N -1N 9223372036854775808N -9223372036854775809N
         (bigint (gen-long)) (bigint (gen-big-integer))]))

(defn gen-bigdec []
  (let [scale (- (below 40) 8)]  ; negative scales print as 1E+3M
    (pick [0M 0.00M -1.50M 1E+3M 1E-7M (BigDecimal. (gen-big-integer) (int scale))
           (BigDecimal. (BigInteger/valueOf (gen-long)) (int scale))])))

(defn gen-ratio []
  (let [n (if (chance 0.7) (bigint (- (below 2000) 1000)) (bigint (gen-big-integer)))
        d (if (chance 0.7) (bigint (inc (below 1000))) (bigint (.abs (gen-big-integer))))
        r (when-not (zero? d) (/ n d))]
    (if (ratio? r) r 1/3)))

(defn gen-double
  "A double; with key? never NaN or -0.0, which Clojure's = and ours treat
  differently as set members and map keys."
  [key?]
  (let [d (pick [0.0 -0.0 1.0 -1.5 0.1 (/ 1.0 3) 1e21 1e-7 123456789.125
                 Double/MAX_VALUE Double/MIN_VALUE Double/MIN_NORMAL
                 Double/POSITIVE_INFINITY Double/NEGATIVE_INFINITY Double/NaN
                 (* (.nextDouble rng) (Math/pow 10 (- (below 40) 20)))
                 (.nextGaussian rng) (double (.nextLong rng))
                 (Double/longBitsToDouble (.nextLong rng))])]
    (if (and key? (or (Double/isNaN d) (= d -0.0))) 2.5 d)))

(defn gen-inst []
  (let [millis (+ -2208988800000 (long (* (.nextDouble rng) 6311433600000)))]  ; 1900..2100
    (if (chance 0.5)
      (Date. millis)
      (doto (Timestamp. millis) (.setNanos (int (pick [0 (below 1000000000)
                                                       (* 1000 (below 1000000))])))))))

(defn gen-uuid [] (UUID. (.nextLong rng) (.nextLong rng)))

(def ^:private tags ['my/tag 'point 'app.model/Person 'x.y/z 'object 'js])

(declare gen-value)

(defn gen-scalar
  "A scalar; `key?` avoids values Clojure cannot find again as a map key or set
  member (NaN is not equal to itself)."
  [key?]
  (case (int (below 15))
    0 (pick [nil true false])
    1 (gen-long) 2 (gen-long)
    3 (gen-bigint) 4 (gen-bigdec) 5 (gen-ratio)
    6 (gen-double key?)
    7 (gen-string) 8 (gen-string)
    9 (gen-char)
    10 (gen-keyword) 11 (gen-keyword)
    12 (gen-symbol)
    13 (gen-inst)
    14 (gen-uuid)))

(defn- gen-key [depth]
  (cond (chance 0.6) (gen-keyword)
        (and (pos? depth) (chance 0.15)) (gen-value (dec depth) true)
        :else (gen-scalar true)))

(defn- gen-map [depth]
  (let [n (below 7)]
    (if (chance 0.25)  ; one namespace for all keys: pr-str writes #:ns{...}
      (let [ns (gen-ns)]
        (into {} (repeatedly n #(vector (keyword ns (gen-name)) (gen-value (dec depth) false)))))
      (into {} (repeatedly n #(vector (gen-key depth) (gen-value (dec depth) false)))))))

(defn gen-value
  ([] (gen-value 4 false))
  ([depth key?]
   (if (or (<= depth 0) (chance 0.35))
     (gen-scalar key?)
     (case (int (below 6))
       0 (vec (repeatedly (below 7) #(gen-value (dec depth) key?)))
       1 (apply list (repeatedly (below 7) #(gen-value (dec depth) key?)))
       2 (gen-map depth)
       3 (set (repeatedly (below 7) #(gen-key depth)))
       4 (tagged-literal (pick tags) (gen-value (dec depth) key?))
       5 (vec (repeatedly (below 4) #(gen-value (dec depth) key?)))))))

;; ---------------------------------------------------------------------------
;; Cases

(defn- nested [n x] (nth (iterate vector x) n))

(def edge-values
  "Hand-picked values, printed by pr-str like the generated ones."
  (concat
   [nil true false 0 -0 Long/MAX_VALUE Long/MIN_VALUE 0N 1N -1N 9223372036854775808N
    -9223372036854775809N 123456789012345678901234567890N 0M 1M 1.50M -0.001M 1E+3M 1E-7M
    12345678901234567890.12345678901234567890M 1/2 -3/4 123456789012345678901234567890/7
    0.0 -0.0 1.0 1.0E21 1.0E-7 5.0E-324 Double/MAX_VALUE ##Inf ##-Inf ##NaN [##NaN {:x ##NaN}]
    "" "a\"b" "back\\slash" "line\nbreak" "tab\there" "cr\rlf\n" "\f\b" "\u0000\u0001\u001f\u007f"
    "é日本🙂" "\u2028\u2029\ufeff" "#inst \"not a tag\"" ";; not a comment" "\\u00e9 stays text"
    \a \A \0 \newline \space \tab \return \formfeed \backspace \é \u00e9 \日 \( \) \[ \] \{ \}
    \" \\ \; \, \# \' \^ \@ \~ \` (char 0) (char 1) (char 0x0b) (char 0x1f) (char 0x7f)
    :a :a/b :conv/id :a.b.c/d-e :_/plain :+ :- :* :? :!x :a1 :a/b' :a# :é/λ
    'a 'a/b '+ '- '-> '<= '. '.. 'a.b/c 'a' 'a# 'λ (symbol "clojure.core" "/") (keyword "a" "/")
    (Date. 0) (Date. -1) (Date. 253402300799999) (Date. -62135596800000)
    (doto (Timestamp. 0) (.setNanos 1)) (doto (Timestamp. -1000) (.setNanos 999999999))
    (doto (Timestamp. 1700000000123) (.setNanos 123456789))
    #uuid "00000000-0000-0000-0000-000000000000" #uuid "ffffffff-ffff-ffff-ffff-ffffffffffff"
    #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
    (tagged-literal 'my/tag [1 2]) (tagged-literal 'object ['java.lang.Object "0x1f" "x"])
    (tagged-literal 'a (tagged-literal 'b {:c #{1}}))
    [] () {} #{} [[]] [() {} #{}] '(1 [2 (3)]) #{[1 2] '(3) {4 5} #{6}}
    {[1 2] :vector-key, {:a 1} :map-key, #{} :set-key, nil :nil-key, "s" 1, \s 2, 's 3, :s 4}
    {:conv/id "cv-1" :conv/stack ["ix-1"] :conv/instances {"ix-1" {:instance/id "ix-1"}}}
    {1 :long 1.0 :double 1M :bigdec} #{1 1.0 "1" \1 :a1 'a1}
    (nested 200 :deep) (reduce (fn [m i] {(keyword (str "k" i)) m}) nil (range 150))
    (vec (range 2000)) (into {} (map (fn [i] [(keyword "k" (str "n" i)) (str i)]) (range 300)))
    (set (map #(str "s" %) (range 300))) (apply str (repeat 20000 "ab\"\\é\n"))]))

(def raw-cases
  "Reader syntax pr-str never writes; each text holds exactly one value."
  ["[1,2,,3,]" "{:a 1, :b 2,}" "; a comment\n[1 ; inner comment\n 2]" "[1 #_ 2 3]"
   "#_ 0 [#_ #_ 1 2 3]" "#_ #_ 1 2 3" "  \t\r\n 42 \r\n; trailing\n" "(1\r\n2\t3\f4)"
   "#:conv{:id \"x\" :_/plain 1 :other/k 2}" "#:conv{}" "#:conv {:id 1}" "#:a.b{:c #:d{:e 1}}"
   "\"\\u00e9\\t\\\"\\\\\\n\\r\\f\\b\"" "\"\\u0041\\u00E9\\u65e5\"" "\"\\ud83d\\ude00\""
   "\\u00e9" "\\u0041" "\\u65E5" "[\\a\\b \\c]" "[\\space\\newline]" "(\\))"
   "+5" "-0" "+0.5" "1e10" "1E-5" "1.5e+3" "-1.0E-10" "1.5M" "+2M" "1e3M" "7N" "+7N" "-0N"
   "4/2" "6/4" "-10/4" "0/5" "20000000000000000000/10000000000000000000"
   "-99999999999999999999/99999999999999999999" "0/99999999999999999999" "01/2"
   "30000000000000000000/20000000000000000000" "-9223372036854775808/1" "9223372036854775808/1"
   "#inst \"2016-12-31T23:59:59Z\"" "#inst \"2016-12-31T23:59:60Z\""
   "clojure.core//" ":clojure.core//" "a//" ":/" "a:b" ":a:b" "a/:b" ":1/a"
   "#inst \"2020-01-01T00:00:00Z\"" "#inst \"2020-01-01T00:00:00+05:30\""
   "#inst \"2020-01-01T00:00:00.5-08:00\"" "#inst \"1969-12-31T23:59:59.999999999Z\""
   "#inst \"2024-02-29T12:34:56.123456+00:00\"" "#inst \"2020\"" "#inst \"2020-02\""
   "#inst \"2020-02-03T04\"" "#inst \"2020-02-03T04:05-01:00\"" "\"\\101\\7\\0\"" "\\o101"
   "#uuid \"F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6\""
   "#my/tag #other [1]" "#object[java.lang.Object \"x\"]" "#x{:a #y 1}" "#t #_ 0 1"
   "##Inf" "##-Inf" "##NaN" "[##NaN ##Inf]" "nil" "true" "false" "/" "a/b" ":a/b"
   "{:a {:b {:c [1 2 #{3}]}}}" "[[[[[[[[[[]]]]]]]]]]"
   "[1 ; a comment ended by CR\r 2\n]" "[1 ; CR only\r 2]" "{:a 1 ; c\r :b 2}"
   "#inst \"2020-01-01T00:00:00.1234567891Z\"" "#inst \"2020-01-01T00:00:00.000000000999Z\""
   "\"\\1 x\"" "\"\\12\"" "\"\\1234\"" "\"\\1#x\"" "\"\\12;(\"" "\"\\1,\"" "#é/x 1" "#Ø 2" "\\uFFFD"])

(def rejected-cases
  "Text clojure.edn rejects; stube-edn check must reject it as well."
  ["{:a 1 :a 2}" "#{1 1}" "#{[1] [1]}" "{:a}" "{:a 1 :b}" "\"abc" "[1 2" "(1 2]" ")" "]"
   "#inst \"not a date\"" "#inst \"2020-13-01T00:00:00Z\"" "#uuid \"xyz\"" "\\unknownchar"
   "\"\\q\"" "1/0" "#" "#foo" "##Foo" "::a" "a/" "1.2.3" "#:conv{:a 1 :conv/a 2}"
   "{:a #_ 1}" "\"\\u12\"" "#{1 #_ 2 1}"
   "99999999999999999999/0" "99999999999999999999/000" ":a:" "a::b" "a:" ":a/1b" "x:/y"
   "#inst \"10000-01-01T00:00:00Z\"" "#inst \"-0001-01-01T00:00:00Z\""
   "#inst \"2020-01-01T00:00:00z\"" "#inst \"2020-01-01T00:58:60Z\""
   "\"\\1a\"" "\"\\18\"" "\"\\1@\"" "\"\\1`\""])

;; ---------------------------------------------------------------------------
;; Running stube-edn

(defn- run [bin & args]
  (apply shell/sh bin (concat args [:out-enc "UTF-8"])))

(defn- read-all
  "Every value in text, as clojure.edn reads a stream."
  [text]
  (let [r (java.io.PushbackReader. (java.io.StringReader. text))
        eof (Object.)]
    (loop [acc []]
      (let [v (edn/read (assoc read-opts :eof eof) r)]
        (if (identical? v eof) acc (recur (conj acc v)))))))

(defn- read-back
  "Clojure's reading of one value stube wrote, or a description of the error."
  [text]
  (try (edn/read-string read-opts text)
       (catch Exception e (symbol (str "<Clojure cannot read this: " (.getMessage e) ">")))))

(def failures (atom 0))

(defn- fail! [& lines]
  (swap! failures inc)
  (binding [*out* *err*]
    (println "FAIL" (first lines))
    (doseq [l (rest lines)] (println "    " l))))

(defn- check-values
  "Compares stube's values (read back by Clojure) with the expected ones."
  [what cases expected actual actual-texts]
  (doseq [[i {:keys [label text]}] (map-indexed vector cases)
          :let [e (nth expected i) a (nth actual i ::missing)]
          :when (not (same? e a))]
    (let [{:keys [path] ea :expected aa :actual} (first-diff e a)]
      (fail! (str what " " label)
             (str "input:    " (show text))
             (str "stube:    " (show (nth actual-texts i "")))
             (str "expected: " (show e))
             (str "actual:   " (show a))
             (str "at path " (show path) ": expected " (show ea) " (" (kind ea) "), got "
                  (show aa) " (" (kind aa) ")")))))

(defn- locate-failures
  "stube-edn failed on the whole file: find the cases it fails on alone."
  [bin cases]
  (doseq [{:keys [label text]} cases
          :let [{:keys [exit err]} (run bin "print" "-" :in text)]
          :when (not (zero? exit))]
    (fail! (str "stube-edn print rejects " label) (str "input: " (show text)) (str "error: " err))))

(defn- check-print [bin file cases expected]
  (let [{:keys [exit out err]} (run bin "print" file)
        lines (str/split out #"\n")]
    (cond
      (not (zero? exit))
      (do (fail! "stube-edn print failed on the case file" err) (locate-failures bin cases))
      (not= (count lines) (count cases))
      (fail! (str "stube-edn print wrote " (count lines) " lines for " (count cases) " values"))
      :else
      (do
        (check-values "print" cases expected (mapv read-back lines) lines)
        (when-not (= (count (read-all out)) (count cases))
          (fail! "print output holds more values than lines"))
        (let [again (run bin "print" "-" :in out)]  ; canonical: printing is idempotent
          (when-not (= (:out again) out)
            (fail! "print of print output differs (output is not canonical)"
                   (str "first differing line: "
                        (some (fn [[x y]] (when (not= x y) (show [x y])))
                              (map vector lines (str/split (:out again) #"\n")))))))))
    out))

(defn- check-fmt [bin file cases expected]
  (let [{:keys [exit out err]} (run bin "fmt" file)
        saved (str file ".fmt")]
    (spit saved out)
    (if-not (zero? exit)
      (fail! "stube-edn fmt failed on the case file" err)
      (let [actual (try (read-all out) (catch Exception e (.getMessage e)))]
        (cond
          (string? actual)
          (fail! (str "Clojure cannot read stube-edn fmt output " saved) actual)
          (not= (count actual) (count cases))
          (fail! (str "stube-edn fmt wrote " (count actual) " values for " (count cases)))
          :else
          (check-values "fmt" cases expected actual (repeat (str "(see " saved ")"))))))))

(defn- check-check [bin file]
  (let [{:keys [exit out err]} (run bin "check" file)]
    (when-not (and (zero? exit) (= out (str file ": ok\n")))
      (fail! "stube-edn check does not accept the case file" (str "exit " exit) out err))))

(defn- check-rejections [bin dir]
  (doseq [[i text] (map-indexed vector rejected-cases)]
    (when-not (try (edn/read-string read-opts text) false (catch Exception _ true))
      (fail! "test case error: Clojure accepts a case meant to be rejected" text))
    (let [file (str dir "/rejected-" i ".edn")
          _ (spit file text)
          {:keys [exit err]} (run bin "check" file)]
      (when-not (and (= exit 1) (re-find (re-pattern (str "^\\Q" file "\\E:\\d+:\\d+: \\S")) err))
        (fail! (str "stube-edn check accepts invalid EDN " (show text))
               (str "exit " exit ", stderr: " (show err)))))))

;; ---------------------------------------------------------------------------

(defn- make-cases []
  (let [printed (fn [label v ns-maps?]
                  {:label label :text (binding [*print-namespace-maps* ns-maps?] (pr-str v))})]
    (vec (concat
          (map-indexed (fn [i v] (printed (str "edge value #" i) v (even? i))) edge-values)
          (map-indexed (fn [i t] {:label (str "raw text #" i) :text t}) raw-cases)
          (for [i (range 400)] (printed (str "generated value #" i) (gen-value) (odd? i)))))))

(defn -main [bin & [dir]]
  (let [dir (or dir (str (java.nio.file.Files/createTempDirectory
                          "edn-interop" (make-array java.nio.file.attribute.FileAttribute 0))))
        cases (make-cases)
        file (str dir "/cases.edn")
        _ (spit file (str/join "\n" (map :text cases)))
        expected (read-all (slurp file))]
    (doseq [{:keys [label text]} cases
            :let [n (try (count (read-all text)) (catch Exception e (.getMessage e)))]
            :when (not= n 1)]
      (fail! (str "test case error: " label " is not one value for Clojure: " n) (show text)))
    (if (not= (count expected) (count cases))
      (fail! (str "test case error: the case file holds " (count expected) " values, not "
                  (count cases)))
      (let [out (check-print bin file cases expected)]
        (spit (str dir "/stube-print.edn") out)
        (check-fmt bin file cases expected)
        (check-check bin file)))
    (check-rejections bin dir)
    (println (count cases) "cases and" (count rejected-cases) "rejections checked in" dir ";"
             @failures "failures")
    (shutdown-agents)
    (System/exit (if (zero? @failures) 0 1))))

(apply -main *command-line-args*)
