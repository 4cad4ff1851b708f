/* ISO 8601 parsing (see iso8601.h). Days are counted with Howard Hinnant's
 * days_from_civil, valid for the whole proleptic Gregorian calendar. */
#include "parse/iso8601.h"

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, const char *end, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9') return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool parse_iso8601_ms(const char *s, size_t len, int64_t *out) {
    if (!s) return false;
    const char *p = s, *end = s + len;
    while (p < end && is_ws(*p))
        p++;
    while (end > p && is_ws(end[-1]))
        end--;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;
    if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || !digits(&p, end, 2, &d))
        return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return false;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (!digits(&p, end, 2, &h) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi))
            return false;
        if (p < end && *p == ':') {
            p++;
            if (!digits(&p, end, 2, &sec)) return false;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                int scale = 100, any = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    any = 1;
                }
                if (!any) return false;
            }
        }
        if (h > 24 || mi > 59 || sec > 60) return false;
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (!digits(&p, end, 2, &oh)) return false;
            if (p < end && *p == ':') p++;
            if (p < end && !digits(&p, end, 2, &om)) return false;
            if (oh > 23 || om > 59) return false;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (p != end) return false;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off_min * 60;
    *out = secs * 1000 + ms;
    return true;
}
