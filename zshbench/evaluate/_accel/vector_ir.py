"""LLVM vector IR for the `simd` kernels, emitted through numba intrinsics.

Generic IR only (``<8 x i64>`` / ``<64 x i64>`` popcount, compares, shifts, selects), so it compiles on any CPU
numba supports; LLVM turns it into AVX-512 (VPOPCNTQ, mask registers) where available. Each intrinsic reads
whole vectors from an array at an index: the caller guarantees the reads stay inside the (padded) array.
"""

from __future__ import annotations

try:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - exercised only without numba
    ir = None

__all__ = [
    "HAVE_IR",
    "PLANES",
    "acc16",
    "acc16_64",
    "acc1",
    "acc1_64",
    "acc16g",
    "acc16g_64",
    "acc1g",
    "acc1g_64",
    "le_mask64",
    "dist_bytes64",
    "eq_mask64",
    "group_mask64",
    "popcnt",
    "cttz",
]

HAVE_IR = ir is not None
PLANES = 12  # bit planes per lane and bin: a lane counts up to 4095 items per bin before a carry

if HAVE_IR:
    _I64 = ir.IntType(64)
    _V8 = ir.VectorType(_I64, 8)
    _V8_I32 = ir.VectorType(ir.IntType(32), 8)
    _V64 = ir.VectorType(_I64, 64)

    def _const(v, vt=_V8):
        return ir.Constant(vt, [ir.Constant(_I64, v)] * vt.count)

    def _splat(b, val, vt):
        undef = ir.Constant(vt, ir.Undefined)
        v = b.insert_element(undef, val, ir.Constant(ir.IntType(32), 0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vt.count), [0] * vt.count)
        return b.shuffle_vector(v, undef, mask)

    def _declare(b, name, ret, args):
        fn = b.module.globals.get(name)
        return fn if fn is not None else ir.Function(b.module, ir.FunctionType(ret, args), name=name)

    def _ctpop(b, v):
        return b.call(_declare(b, f"llvm.ctpop.v{v.type.count}i64", v.type, [v.type]), [v])

    def _any(b, v):
        red = b.call(_declare(b, "llvm.vector.reduce.or.v8i64", _I64, [_V8]), [v])
        return b.icmp_unsigned("!=", red, ir.Constant(_I64, 0))

    def _vec_ptr(context, b, aryty, ary, idx, vt):
        data = context.make_array(aryty)(context, b, ary).data
        return b.bitcast(b.gep(data, [idx]), vt.as_pointer())

    def _dist64(context, b, aryty, colv, jv, qv):
        """popcount(col[j + i] ^ q) for the 64 codes i < 64 from ``j`` (a <64 x i64> vector)."""
        x = b.load(_vec_ptr(context, b, aryty, colv, jv, _V64), align=8)
        return _ctpop(b, b.xor(x, _splat(b, qv, _V64)))

    def _onehot(b, x, q, full64):
        """``1 << popcount(x ^ q)`` per lane; 0 for distance 64 (never a valid shift)."""
        d = _ctpop(b, b.xor(x, q))
        if not full64:
            return b.shl(_const(1), d)
        s = b.shl(_const(1), b.and_(d, _const(63)))
        return b.select(b.icmp_unsigned("<", d, _const(64)), s, _const(0))

    def _csa(b, x, y, z):
        """Carry-save adder of three bit vectors: (carry, sum)."""
        u = b.xor(x, y)
        return b.or_(b.and_(x, y), b.and_(u, z)), b.xor(u, z)

    def _add16(b, xs, sp):
        """Add 16 one-hot vectors to the planes at ``sp`` (Harley-Seal tree, then a ripple into the higher
        planes); store the carry out of the top plane after the planes and return whether it is non-zero."""
        planes = [b.load(b.gep(sp, [ir.Constant(_I64, i)]), align=8) for i in range(PLANES)]
        ones, twos, fours, eights = planes[:4]
        eight_carries = []
        for h in range(2):
            x = xs[8 * h : 8 * h + 8]
            ta, ones = _csa(b, ones, x[0], x[1])
            tb, ones = _csa(b, ones, x[2], x[3])
            fa, twos = _csa(b, twos, ta, tb)
            ta, ones = _csa(b, ones, x[4], x[5])
            tb, ones = _csa(b, ones, x[6], x[7])
            fb, twos = _csa(b, twos, ta, tb)
            e, fours = _csa(b, fours, fa, fb)
            eight_carries.append(e)
        c, eights = _csa(b, eights, eight_carries[0], eight_carries[1])
        planes[:4] = [ones, twos, fours, eights]
        for i in range(4, PLANES):  # ripple the sixteens into the higher planes
            t = b.and_(planes[i], c)
            planes[i] = b.xor(planes[i], c)
            c = t
        for i in range(PLANES):
            b.store(planes[i], b.gep(sp, [ir.Constant(_I64, i)]), align=8)
        b.store(c, b.gep(sp, [ir.Constant(_I64, PLANES)]), align=8)
        return _any(b, c)

    def _add1(b, c, sp):
        """Add one one-hot vector to the planes at ``sp`` (ripple); carry handling as `_add16`."""
        for i in range(PLANES):
            pi = b.gep(sp, [ir.Constant(_I64, i)])
            v = b.load(pi, align=8)
            b.store(b.xor(v, c), pi, align=8)
            c = b.and_(v, c)
        b.store(c, b.gep(sp, [ir.Constant(_I64, PLANES)]), align=8)
        return _any(b, c)

    def _lanes_below(b, jv, hiv):
        idx = b.add(_splat(b, jv, _V8), ir.Constant(_V8, [ir.Constant(_I64, i) for i in range(8)]))
        return b.icmp_signed("<", idx, _splat(b, hiv, _V8))

    def _in_group(context, b, aryty, grp, jv, gv, i):
        """Lanes of items j + 8i .. j + 8i + 7 whose group id (``int32`` array) equals g."""
        p = _vec_ptr(context, b, aryty, grp, jv, _V8_I32)
        x = b.load(b.gep(p, [ir.Constant(_I64, i)]), align=4)
        return b.icmp_signed("==", x, _splat(b, b.trunc(gv, ir.IntType(32)), _V8_I32))

    def _flags(b, carry_all, carry_rel):
        return b.or_(b.zext(carry_all, _I64), b.shl(b.zext(carry_rel, _I64), ir.Constant(_I64, 1)))

    def _make_acc16(full64):
        def acc16(typingctx, col, j, q, state, so):
            """Add the one-hot distances of items col[j:j+128] to the planes at state[so:]; True on a carry
            out of the top plane (then stored at state[so + 8 * PLANES:])."""
            sig = types.boolean(col, j, q, state, so)

            def codegen(context, b, signature, args):
                colv, jv, qv, st, sov = args
                p = _vec_ptr(context, b, signature.args[0], colv, jv, _V8)
                sp = _vec_ptr(context, b, signature.args[3], st, sov, _V8)
                qs = _splat(b, qv, _V8)
                xs = [_onehot(b, b.load(b.gep(p, [ir.Constant(_I64, i)]), align=8), qs, full64) for i in range(16)]
                return _add16(b, xs, sp)

            return sig, codegen

        return intrinsic(acc16)

    def _make_acc1(full64):
        def acc1(typingctx, col, j, q, state, so, hi):
            """Like acc16 for the 8 items col[j:j+8], lanes with index >= hi left out."""
            sig = types.boolean(col, j, q, state, so, hi)

            def codegen(context, b, signature, args):
                colv, jv, qv, st, sov, hiv = args
                p = _vec_ptr(context, b, signature.args[0], colv, jv, _V8)
                sp = _vec_ptr(context, b, signature.args[3], st, sov, _V8)
                oh = _onehot(b, b.load(p, align=8), _splat(b, qv, _V8), full64)
                return _add1(b, b.select(_lanes_below(b, jv, hiv), oh, _const(0)), sp)

            return sig, codegen

        return intrinsic(acc1)

    def _make_acc16g(full64):
        def acc16g(typingctx, col, grp, j, q, g, state, so):
            """Index-order variant: all items col[j:j+128] go to the planes at state[so:], those of group g
            also to the planes at state[so + 8 * (PLANES + 1):]. Returns carry flags (bit 0 all, bit 1 rel)."""
            sig = types.int64(col, grp, j, q, g, state, so)

            def codegen(context, b, signature, args):
                colv, grpv, jv, qv, gv, st, sov = args
                p = _vec_ptr(context, b, signature.args[0], colv, jv, _V8)
                sp = _vec_ptr(context, b, signature.args[5], st, sov, _V8)
                qs = _splat(b, qv, _V8)
                xs = [_onehot(b, b.load(b.gep(p, [ir.Constant(_I64, i)]), align=8), qs, full64) for i in range(16)]
                xr = [
                    b.select(_in_group(context, b, signature.args[1], grpv, jv, gv, i), xs[i], _const(0))
                    for i in range(16)
                ]
                carry_all = _add16(b, xs, sp)
                carry_rel = _add16(b, xr, b.gep(sp, [ir.Constant(_I64, PLANES + 1)]))
                return _flags(b, carry_all, carry_rel)

            return sig, codegen

        return intrinsic(acc16g)

    def _make_acc1g(full64):
        def acc1g(typingctx, col, grp, j, q, g, state, so, hi):
            """Like acc16g for the 8 items col[j:j+8], lanes with index >= hi left out."""
            sig = types.int64(col, grp, j, q, g, state, so, hi)

            def codegen(context, b, signature, args):
                colv, grpv, jv, qv, gv, st, sov, hiv = args
                p = _vec_ptr(context, b, signature.args[0], colv, jv, _V8)
                sp = _vec_ptr(context, b, signature.args[5], st, sov, _V8)
                oh = _onehot(b, b.load(p, align=8), _splat(b, qv, _V8), full64)
                oh = b.select(_lanes_below(b, jv, hiv), oh, _const(0))
                rel = b.select(_in_group(context, b, signature.args[1], grpv, jv, gv, 0), oh, _const(0))
                carry_all = _add1(b, oh, sp)
                carry_rel = _add1(b, rel, b.gep(sp, [ir.Constant(_I64, PLANES + 1)]))
                return _flags(b, carry_all, carry_rel)

            return sig, codegen

        return intrinsic(acc1g)

    acc16_64, acc16 = _make_acc16(True), _make_acc16(False)
    acc1_64, acc1 = _make_acc1(True), _make_acc1(False)
    acc16g_64, acc16g = _make_acc16g(True), _make_acc16g(False)
    acc1g_64, acc1g = _make_acc1g(True), _make_acc1g(False)

    @intrinsic
    def le_mask64(typingctx, col, j, q, lim):
        """Bit i set iff popcount(col[j + i] ^ q) <= lim, for i < 64."""
        sig = types.uint64(col, j, q, lim)

        def codegen(context, b, signature, args):
            colv, jv, qv, limv = args
            d = _dist64(context, b, signature.args[0], colv, jv, qv)
            return b.bitcast(b.icmp_unsigned("<=", d, _splat(b, limv, _V64)), _I64)

        return sig, codegen

    @intrinsic
    def popcnt(typingctx, x):
        sig = types.int64(types.uint64)

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return sig, codegen

    @intrinsic
    def cttz(typingctx, x):
        sig = types.int64(types.uint64)

        def codegen(context, builder, signature, args):
            return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

        return sig, codegen

    _V64_I8 = ir.VectorType(ir.IntType(8), 64)
    _V64_I32 = ir.VectorType(ir.IntType(32), 64)

    @intrinsic
    def dist_bytes64(typingctx, col, j, q, out):
        """out[i] = popcount(col[j + i] ^ q) as bytes, for i < 64 (distances of codes of <= 64 bits)."""
        sig = types.void(col, j, q, out)

        def codegen(context, b, signature, args):
            colv, jv, qv, outv = args
            d = b.trunc(_dist64(context, b, signature.args[0], colv, jv, qv), _V64_I8)
            b.store(d, _vec_ptr(context, b, signature.args[3], outv, ir.Constant(_I64, 0), _V64_I8), align=1)
            return context.get_dummy_value()

        return sig, codegen

    @intrinsic
    def eq_mask64(typingctx, buf, v):
        """Bit i set iff buf[i] == v, for the 64 bytes of buf."""
        sig = types.uint64(buf, v)

        def codegen(context, b, signature, args):
            bufv, vv = args
            x = b.load(_vec_ptr(context, b, signature.args[0], bufv, ir.Constant(_I64, 0), _V64_I8), align=1)
            c = b.icmp_unsigned("==", x, _splat(b, b.trunc(vv, ir.IntType(8)), _V64_I8))
            return b.bitcast(c, _I64)

        return sig, codegen

    @intrinsic
    def group_mask64(typingctx, dbg, j, g):
        """Bit i set iff dbg[j + i] == g, for i < 64 (``dbg`` int32, padded)."""
        sig = types.uint64(dbg, j, g)

        def codegen(context, b, signature, args):
            dv, jv, gv = args
            x = b.load(_vec_ptr(context, b, signature.args[0], dv, jv, _V64_I32), align=4)
            c = b.icmp_signed("==", x, _splat(b, b.trunc(gv, ir.IntType(32)), _V64_I32))
            return b.bitcast(c, _I64)

        return sig, codegen
