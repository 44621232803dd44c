/* utf8.h — UTF-8 decoding (with U+FFFD for invalid bytes) and encoding. */
#ifndef BERTC_UTF8_H
#define BERTC_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decodes one code point from s[0..n) (n > 0) into *cp and returns the bytes
 * consumed (1..4). Invalid input gives U+FFFD for each maximal invalid subpart
 * (the WHATWG / Unicode §3.9 "substitution of maximal subparts" rule, as Rust's
 * String::from_utf8_lossy): overlongs, surrogates, > U+10FFFF and truncated
 * sequences are rejected. */
size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* Writes cp (≤ U+10FFFF, not a surrogate) to out; returns 1..4. */
size_t utf8_encode(uint32_t cp, uint8_t out[4]);
/* 1 if s[0..n) is valid UTF-8. */
int utf8_valid(const uint8_t *s, size_t n);
/* Number of code points in s[0..n) (invalid subparts count as one each). */
size_t utf8_count(const uint8_t *s, size_t n);

#endif
