;; nnc's own WebAssembly SIMD kernels for TensorFlow.js's wasm backend.
;;
;; They run on the wasm backend's own memory (imported as env.memory), so they read and
;; write tensors in place, by their byte offsets in that memory, with no copies. Two builds
;; come from this one file (scripts/build-wasm-simd.mjs): one imports a plain memory (the
;; stock single-threaded backend) and one a shared memory (the threaded build); the line
;; marked MEMORY is the only difference. src/runtime/wasm-simd/kernels.generated.ts holds
;; both as bytes, and test/wasm-simd.test.ts checks that it matches this file.
;;
;; Every function takes pointers (byte offsets) and sizes; the caller (../kernels.ts)
;; checks shapes, dtypes and that the memory ranges exist.
(module
  (import "env" "memory" (memory 1 65536)) ;; MEMORY

  ;; One Adam (or AdamW) step over n floats, the same f32 arithmetic in the same order as
  ;; the generic rule in optimizers.ts, so both give bit-identical results:
  ;;   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);
  ;;   u  = (m'/d1)·lr / (√(v'/d2) + ε)    (d1 = 1−β1^t, d2 = 1−β2^t);
  ;;   w' = w − u, or for AdamW (decoupled ≠ 0) w' = (w − w·decay) − u.
  ;; The outputs may not overlap the inputs except exactly (w' over w and so on).
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $outW i32) (param $outM i32) (param $outV i32) (param $n i32)
    (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32)
    (param $d1 f32) (param $d2 f32) (param $lr f32) (param $eps f32)
    (param $decay f32) (param $decoupled i32)
    (local $i i32) (local $off i32) (local $n4 i32)
    (local $sb1 v128) (local $somb1 v128) (local $sb2 v128) (local $somb2 v128)
    (local $sd1 v128) (local $sd2 v128) (local $slr v128) (local $seps v128) (local $sdecay v128)
    (local $gv v128) (local $mv v128) (local $vv v128) (local $wv v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $ws f32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $sb1 (f32x4.splat (local.get $b1)))
    (local.set $somb1 (f32x4.splat (local.get $omb1)))
    (local.set $sb2 (f32x4.splat (local.get $b2)))
    (local.set $somb2 (f32x4.splat (local.get $omb2)))
    (local.set $sd1 (f32x4.splat (local.get $d1)))
    (local.set $sd2 (f32x4.splat (local.get $d2)))
    (local.set $slr (f32x4.splat (local.get $lr)))
    (local.set $seps (f32x4.splat (local.get $eps)))
    (local.set $sdecay (f32x4.splat (local.get $decay)))
    (block $simdDone
      (loop $simd
        (br_if $simdDone (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (v128.load align=4 (i32.add (local.get $g) (local.get $off))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $off))) (local.get $sb1))
            (f32x4.mul (local.get $gv) (local.get $somb1))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $off))) (local.get $sb2))
            (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $somb2))))
        (local.set $wv (v128.load align=4 (i32.add (local.get $w) (local.get $off))))
        (if (local.get $decoupled)
          (then (local.set $wv (f32x4.sub (local.get $wv) (f32x4.mul (local.get $wv) (local.get $sdecay))))))
        (v128.store align=4 (i32.add (local.get $outM) (local.get $off)) (local.get $mv))
        (v128.store align=4 (i32.add (local.get $outV) (local.get $off)) (local.get $vv))
        (v128.store align=4 (i32.add (local.get $outW) (local.get $off))
          (f32x4.sub
            (local.get $wv)
            (f32x4.div
              (f32x4.mul (f32x4.div (local.get $mv) (local.get $sd1)) (local.get $slr))
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $sd2))) (local.get $seps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $off))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $omb1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $off))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $omb2))))
        (local.set $ws (f32.load (i32.add (local.get $w) (local.get $off))))
        (if (local.get $decoupled)
          (then (local.set $ws (f32.sub (local.get $ws) (f32.mul (local.get $ws) (local.get $decay))))))
        (f32.store (i32.add (local.get $outM) (local.get $off)) (local.get $ms))
        (f32.store (i32.add (local.get $outV) (local.get $off)) (local.get $vs))
        (f32.store (i32.add (local.get $outW) (local.get $off))
          (f32.sub
            (local.get $ws)
            (f32.div
              (f32.mul (f32.div (local.get $ms) (local.get $d1)) (local.get $lr))
              (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $d2))) (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scalar))))

  ;; Sums the rows of a rows×cols matrix: out[j] = x[0][j] + x[1][j] + … (a bias gradient: the
  ;; output gradient summed over every axis but the channels). The sums are kept in float64
  ;; (acc: cols doubles of scratch), as the JavaScript loop they replace kept them, and
  ;; rounded to float32 at the end.
  (func (export "sum_rows") (param $x i32) (param $acc i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $cols2 i32) (local $row i32) (local $a i32)
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $cols2 (i32.and (local.get $cols) (i32.const -2)))
    (block $rDone (loop $rLoop
      (br_if $rDone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $row (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $vDone (loop $vLoop
        (br_if $vDone (i32.ge_u (local.get $j) (local.get $cols2)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
        (v128.store align=8 (local.get $a)
          (f64x2.add (v128.load align=8 (local.get $a))
            (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $vLoop)))
      (if (i32.lt_u (local.get $j) (local.get $cols)) (then
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
        (f64.store (local.get $a)
          (f64.add (f64.load (local.get $a)) (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rLoop)))
    (local.set $j (i32.const 0))
    (block $oDone (loop $oLoop
      (br_if $oDone (i32.ge_u (local.get $j) (local.get $cols)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
        (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $oLoop))))

  ;; The transposed patch matrix of a conv (im2col, transposed) for an NHWC input x:
  ;; out[(ky·kw + kx)·c + ci][(b·oh + oy)·ow + ox] = x[b][oy·sh + ky·dh − top][ox·sw + kx·dw − left][ci],
  ;; 0 where that falls in the padding. A filter gradient is then out · dy (as a matrix of
  ;; (b, oy, ox) rows by filters), one matrix product instead of a convolution whose output
  ;; is tiny when the input has few channels.
  (func (export "im2col_t")
    (param $x i32) (param $out i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $top i32) (param $left i32)
    (local $ky i32) (local $kx i32) (local $ci i32) (local $b i32) (local $oy i32) (local $ox i32)
    (local $iy i32) (local $ix i32) (local $dst i32) (local $rowIn i32)
    (local.set $dst (local.get $out))
    (block $kyDone (loop $kyLoop
      (br_if $kyDone (i32.ge_u (local.get $ky) (local.get $kh)))
      (local.set $kx (i32.const 0))
      (block $kxDone (loop $kxLoop
        (br_if $kxDone (i32.ge_u (local.get $kx) (local.get $kw)))
        (local.set $ci (i32.const 0))
        (block $ciDone (loop $ciLoop
          (br_if $ciDone (i32.ge_u (local.get $ci) (local.get $c)))
          (local.set $b (i32.const 0))
          (block $bDone (loop $bLoop
            (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
            (local.set $oy (i32.const 0))
            (block $oyDone (loop $oyLoop
              (br_if $oyDone (i32.ge_u (local.get $oy) (local.get $oh)))
              (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $sh)) (i32.mul (local.get $ky) (local.get $dh))) (local.get $top)))
              (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $h)))
                (then
                  (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $ow) (i32.const 2)))
                  (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $ow) (i32.const 2)))))
                (else
                  ;; the input row (b, iy), at channel ci
                  (local.set $rowIn (i32.add (local.get $x)
                    (i32.shl (i32.add (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $c)) (local.get $ci)) (i32.const 2))))
                  (local.set $ox (i32.const 0))
                  (block $oxDone (loop $oxLoop
                    (br_if $oxDone (i32.ge_u (local.get $ox) (local.get $ow)))
                    (local.set $ix (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $sw)) (i32.mul (local.get $kx) (local.get $dw))) (local.get $left)))
                    (f32.store (local.get $dst)
                      (if (result f32) (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $w)))
                        (then (f32.load (i32.add (local.get $rowIn) (i32.shl (i32.mul (local.get $ix) (local.get $c)) (i32.const 2)))))
                        (else (f32.const 0))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                    (br $oxLoop)))))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br $oyLoop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bLoop)))
          (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
          (br $ciLoop)))
        (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
        (br $kxLoop)))
      (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
      (br $kyLoop))))

  ;; C = A·B (+ bias on every row) for small row-major matrices: A is m×k, B k×n, C m×n,
  ;; bias n values or none (pointer 0). Sixteen columns of a row at a time in four vector
  ;; accumulators, then four, then one; each sum runs over k in order, starting from the bias.
  ;; XNNPACK needs an operator made for every new B (a layer's weights are new after every
  ;; update), which costs more than the arithmetic of a small layer.
  (func (export "matmul") (param $a i32) (param $b i32) (param $bias i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $arow i32) (local $crow i32) (local $bp i32) (local $n4 i32) (local $n16 i32)
    (local $av v128) (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $s f32)
    (local.set $n16 (i32.and (local.get $n) (i32.const -16)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $iDone (loop $iLoop
      (br_if $iDone (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $arow (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
      (local.set $crow (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $j16Done (loop $j16Loop
        (br_if $j16Done (i32.ge_u (local.get $j) (local.get $n16)))
        (if (local.get $bias)
          (then
            (local.set $bp (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $acc0 (v128.load align=4 (local.get $bp)))
            (local.set $acc1 (v128.load offset=16 align=4 (local.get $bp)))
            (local.set $acc2 (v128.load offset=32 align=4 (local.get $bp)))
            (local.set $acc3 (v128.load offset=48 align=4 (local.get $bp))))
          (else
            (local.set $acc0 (v128.const i32x4 0 0 0 0))
            (local.set $acc1 (v128.const i32x4 0 0 0 0))
            (local.set $acc2 (v128.const i32x4 0 0 0 0))
            (local.set $acc3 (v128.const i32x4 0 0 0 0))))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $kk (i32.const 0))
        (block $kDone (loop $kLoop
          (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
          (local.set $av (f32x4.splat (f32.load (i32.add (local.get $arow) (i32.shl (local.get $kk) (i32.const 2))))))
          (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $av) (v128.load align=4 (local.get $bp)))))
          (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $av) (v128.load offset=16 align=4 (local.get $bp)))))
          (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $av) (v128.load offset=32 align=4 (local.get $bp)))))
          (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $av) (v128.load offset=48 align=4 (local.get $bp)))))
          (local.set $bp (i32.add (local.get $bp) (i32.shl (local.get $n) (i32.const 2))))
          (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
          (br $kLoop)))
        (local.set $bp (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store align=4 (local.get $bp) (local.get $acc0))
        (v128.store offset=16 align=4 (local.get $bp) (local.get $acc1))
        (v128.store offset=32 align=4 (local.get $bp) (local.get $acc2))
        (v128.store offset=48 align=4 (local.get $bp) (local.get $acc3))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $j16Loop)))
      (block $j4Done (loop $j4Loop
        (br_if $j4Done (i32.ge_u (local.get $j) (local.get $n4)))
        (local.set $acc0
          (if (result v128) (local.get $bias)
            (then (v128.load align=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
            (else (v128.const i32x4 0 0 0 0))))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $kk (i32.const 0))
        (block $k4Done (loop $k4Loop
          (br_if $k4Done (i32.ge_u (local.get $kk) (local.get $k)))
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $arow) (i32.shl (local.get $kk) (i32.const 2))))) (v128.load align=4 (local.get $bp)))))
          (local.set $bp (i32.add (local.get $bp) (i32.shl (local.get $n) (i32.const 2))))
          (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
          (br $k4Loop)))
        (v128.store align=4 (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))) (local.get $acc0))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $j4Loop)))
      (block $j1Done (loop $j1Loop
        (br_if $j1Done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $s
          (if (result f32) (local.get $bias)
            (then (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
            (else (f32.const 0))))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $kk (i32.const 0))
        (block $k1Done (loop $k1Loop
          (br_if $k1Done (i32.ge_u (local.get $kk) (local.get $k)))
          (local.set $s (f32.add (local.get $s)
            (f32.mul (f32.load (i32.add (local.get $arow) (i32.shl (local.get $kk) (i32.const 2)))) (f32.load (local.get $bp)))))
          (local.set $bp (i32.add (local.get $bp) (i32.shl (local.get $n) (i32.const 2))))
          (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
          (br $k1Loop)))
        (f32.store (i32.add (local.get $crow) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j1Loop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $iLoop))))

  ;; tanh of n floats, four at a time (Cephes' tanhf): for |x| < 0.625 the odd polynomial
  ;; x + x³·P(x²); above, 1 − 2/(e^{2|x|} + 1) with the sign of x, e^y from Cephes' expf
  ;; (y = k·ln 2 + r, e^r by a polynomial, 2^k by the exponent bits). |x| is clamped to 9,
  ;; where tanh is 1 in float32. NaN stays NaN. The stock kernel calls libm's tanhf for
  ;; every element, several times slower.
  (func (export "tanh") (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $off i32) (local $n4 i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $done (loop $lp
      (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
      (local.set $off (i32.shl (local.get $i) (i32.const 2)))
      (v128.store align=4 (i32.add (local.get $out) (local.get $off))
        (call $tanh4 (v128.load align=4 (i32.add (local.get $x) (local.get $off)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $lp)))
    ;; the last n mod 4 values, one at a time through lane 0
    (block $tDone (loop $tLoop
      (br_if $tDone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $off (i32.shl (local.get $i) (i32.const 2)))
      (f32.store (i32.add (local.get $out) (local.get $off))
        (f32x4.extract_lane 0 (call $tanh4 (v128.load32_zero align=4 (i32.add (local.get $x) (local.get $off))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tLoop))))

  (func $tanh4 (param $v v128) (result v128)
    (local $a v128) (local $z v128) (local $small v128) (local $y v128) (local $k v128) (local $r v128) (local $p v128) (local $e v128) (local $big v128)
    (local.set $a (f32x4.min (f32x4.abs (local.get $v)) (f32x4.splat (f32.const 9))))
    ;; small: x + x·z·P(z), z = x²
    (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
    (local.set $p (f32x4.splat (f32.const -5.70498872745e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 2.06390887954e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -5.37397155531e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 1.33314422036e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -3.33332819422e-1))))
    (local.set $small (f32x4.add (local.get $v) (f32x4.mul (f32x4.mul (local.get $v) (local.get $z)) (local.get $p))))
    ;; big: e = exp(2|x|); k = round(y / ln 2); r = y − k·ln 2 (in two parts)
    (local.set $y (f32x4.add (local.get $a) (local.get $a)))
    (local.set $k (f32x4.nearest (f32x4.mul (local.get $y) (f32x4.splat (f32.const 1.44269504088896341)))))
    (local.set $r (f32x4.sub (f32x4.sub (local.get $y) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693359375))))
      (f32x4.mul (local.get $k) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $z (f32x4.mul (local.get $r) (local.get $r)))
    (local.set $p (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $e (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (local.get $r)) (f32x4.splat (f32.const 1))))
    ;; × 2^k: add k to the exponent bits (k ≤ 26 here, so no overflow)
    (local.set $e (i32x4.add (local.get $e) (i32x4.shl (i32x4.trunc_sat_f32x4_s (local.get $k)) (i32.const 23))))
    (local.set $big (f32x4.sub (f32x4.splat (f32.const 1))
      (f32x4.div (f32x4.splat (f32.const 2)) (f32x4.add (local.get $e) (f32x4.splat (f32.const 1))))))
    ;; the sign of x on the big branch (copysign), then pick by |x| < 0.625
    (local.set $big (v128.or (v128.and (local.get $big) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
      (v128.and (local.get $v) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (v128.bitselect (local.get $small) (local.get $big) (f32x4.lt (f32x4.abs (local.get $v)) (f32x4.splat (f32.const 0.625)))))

  ;; MaxPoolGrad, NHWC, for c a multiple of 4: dx (zeroed here) gets each window's output
  ;; gradient at the window's first maximum in row-major order, per channel, as TF.js's cpu
  ;; backend does (NaN never wins; a window of NaN or no inputs passes nothing). Four
  ;; channels at a time: a lane's running maximum and its index are kept with a comparison
  ;; mask, so there are no branches on the data.
  (func (export "maxpool_grad")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $b i32) (local $y i32) (local $xo i32) (local $ch i32) (local $yi i32) (local $xi i32)
    (local $base i32) (local $yMin i32) (local $yMax i32) (local $xMin i32) (local $xMax i32)
    (local $at i32) (local $gAt i32) (local $wi i32) (local $addr i32)
    (local $v v128) (local $best v128) (local $where v128) (local $mask v128)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $h)) (i32.mul (local.get $w) (local.get $c))) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $base (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $c))))
      (local.set $y (i32.const 0))
      (block $yDone (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $y) (local.get $oh)))
        ;; yMin = max(0, y·sh − top), yMax = min(h, y·sh − top + fh), as signed numbers
        (local.set $yMin (i32.sub (i32.mul (local.get $y) (local.get $sh)) (local.get $top)))
        (local.set $yMax (i32.add (local.get $yMin) (local.get $fh)))
        (if (i32.lt_s (local.get $yMin) (i32.const 0)) (then (local.set $yMin (i32.const 0))))
        (if (i32.gt_s (local.get $yMax) (local.get $h)) (then (local.set $yMax (local.get $h))))
        (local.set $xo (i32.const 0))
        (block $xDone (loop $xLoop
          (br_if $xDone (i32.ge_u (local.get $xo) (local.get $ow)))
          (local.set $xMin (i32.sub (i32.mul (local.get $xo) (local.get $sw)) (local.get $left)))
          (local.set $xMax (i32.add (local.get $xMin) (local.get $fw)))
          (if (i32.lt_s (local.get $xMin) (i32.const 0)) (then (local.set $xMin (i32.const 0))))
          (if (i32.gt_s (local.get $xMax) (local.get $w)) (then (local.set $xMax (local.get $w))))
          ;; gAt: the element index of this window's first channel in dy
          (local.set $gAt
            (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $y)) (local.get $ow)) (local.get $xo))
              (local.get $c)))
          (local.set $ch (i32.const 0))
          (block $cDone (loop $cLoop
            (br_if $cDone (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $best (f32x4.splat (f32.const -inf)))
            (local.set $where (i32x4.splat (i32.const -1)))
            (local.set $yi (local.get $yMin))
            (block $wyDone (loop $wyLoop
              (br_if $wyDone (i32.ge_s (local.get $yi) (local.get $yMax)))
              (local.set $xi (local.get $xMin))
              (block $wxDone (loop $wxLoop
                (br_if $wxDone (i32.ge_s (local.get $xi) (local.get $xMax)))
                (local.set $at
                  (i32.add (i32.add (local.get $base)
                    (i32.mul (i32.add (i32.mul (local.get $yi) (local.get $w)) (local.get $xi)) (local.get $c)))
                    (local.get $ch)))
                (local.set $v (v128.load align=4 (i32.add (local.get $x) (i32.shl (local.get $at) (i32.const 2)))))
                (local.set $mask (f32x4.gt (local.get $v) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $mask)))
                (local.set $where
                  (v128.bitselect
                    (i32x4.add (i32x4.splat (local.get $at)) (v128.const i32x4 0 1 2 3))
                    (local.get $where) (local.get $mask)))
                (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
                (br $wxLoop)))
              (local.set $yi (i32.add (local.get $yi) (i32.const 1)))
              (br $wyLoop)))
            ;; dx[where[k]] += dy[gAt + ch + k] for the four lanes that found a maximum
            (local.set $wi (i32x4.extract_lane 0 (local.get $where)))
            (if (i32.ge_s (local.get $wi) (i32.const 0)) (then
              (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $wi) (i32.const 2))))
              (f32.store (local.get $addr) (f32.add (f32.load (local.get $addr))
                (f32.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $gAt) (local.get $ch)) (i32.const 2))))))))
            (local.set $wi (i32x4.extract_lane 1 (local.get $where)))
            (if (i32.ge_s (local.get $wi) (i32.const 0)) (then
              (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $wi) (i32.const 2))))
              (f32.store (local.get $addr) (f32.add (f32.load (local.get $addr))
                (f32.load offset=4 (i32.add (local.get $dy) (i32.shl (i32.add (local.get $gAt) (local.get $ch)) (i32.const 2))))))))
            (local.set $wi (i32x4.extract_lane 2 (local.get $where)))
            (if (i32.ge_s (local.get $wi) (i32.const 0)) (then
              (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $wi) (i32.const 2))))
              (f32.store (local.get $addr) (f32.add (f32.load (local.get $addr))
                (f32.load offset=8 (i32.add (local.get $dy) (i32.shl (i32.add (local.get $gAt) (local.get $ch)) (i32.const 2))))))))
            (local.set $wi (i32x4.extract_lane 3 (local.get $where)))
            (if (i32.ge_s (local.get $wi) (i32.const 0)) (then
              (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $wi) (i32.const 2))))
              (f32.store (local.get $addr) (f32.add (f32.load (local.get $addr))
                (f32.load offset=12 (i32.add (local.get $dy) (i32.shl (i32.add (local.get $gAt) (local.get $ch)) (i32.const 2))))))))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $cLoop)))
          (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
          (br $xLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $yLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))))
