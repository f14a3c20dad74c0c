/* INCRBYFLOAT arithmetic in C `long double`, parsed and printed exactly as
 * Redis 7.0 does (strtold, then "%.17Lf" with trailing zeros stripped), since
 * Rust has no extended-precision float type. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

/* Redis's MAX_LONG_DOUBLE_CHARS. */
#define LD_MAX_CHARS (5 * 1024)

/* Redis's string2ld(): 1 on success. Reads exactly `len` bytes of `s`. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *eptr;
    long double v;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != len ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Adds the decimal strings `a` (the stored value) and `b` (the increment) and
 * writes the sum as Redis's ld2string(LD_STR_HUMAN) into `out` (no NUL).
 * Returns the length written, or:
 *   -1  `a` is not a valid float
 *   -2  `b` is not a valid float
 *   -3  the sum is NaN or infinite
 *   -4  `out` is too small (needs at most LD_MAX_CHARS bytes). */
int ferrokv_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t outlen) {
    long double va, vb, sum;
    char buf[LD_MAX_CHARS];
    int n;
    size_t l;

    if (!parse_ld(a, alen, &va)) return -1;
    if (!parse_ld(b, blen, &vb)) return -2;
    sum = va + vb;
    if (isnan(sum) || isinf(sum)) return -3;
    n = snprintf(buf, sizeof(buf), "%.17Lf", sum);
    if (n < 0 || (size_t)n + 1 > sizeof(buf)) return -4;
    l = (size_t)n;
    if (memchr(buf, '.', l) != NULL) {
        while (l > 0 && buf[l - 1] == '0') l--;
        if (l > 0 && buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    if (l > outlen) return -4;
    memcpy(out, buf, l);
    return (int)l;
}
