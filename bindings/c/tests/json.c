/*
 * json.c: the minimal JSON reader declared in json.h (owned by bindings/c/tests).
 * Recursive descent over a NUL-terminated buffer; every allocation is owned by the tree and
 * released by json_free, so the tests stay leak-free under LeakSanitizer and valgrind.
 */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p;
    int depth;
} parser;

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') {
        ps->p++;
    }
}

static json_value *new_value(json_type type)
{
    json_value *v = calloc(1, sizeof *v);
    if (v) {
        v->type = type;
    }
    return v;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return 0;
        }
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string literal at ps->p (which points at the opening quote). */
static char *parse_string_raw(parser *ps)
{
    const char *s = ps->p + 1;
    /* Decoded text is never longer than the escaped text. */
    const char *end = s;
    while (*end && *end != '"') {
        if (*end == '\\' && end[1]) {
            end++;
        }
        end++;
    }
    if (*end != '"') {
        return NULL;
    }
    char *out = malloc((size_t)(end - s) + 1);
    if (!out) {
        return NULL;
    }
    size_t n = 0;
    while (s < end) {
        if ((unsigned char)*s < 0x20) {
            free(out);
            return NULL;
        }
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        s++;
        switch (*s) {
        case '"': out[n++] = '"'; s++; break;
        case '\\': out[n++] = '\\'; s++; break;
        case '/': out[n++] = '/'; s++; break;
        case 'b': out[n++] = '\b'; s++; break;
        case 'f': out[n++] = '\f'; s++; break;
        case 'n': out[n++] = '\n'; s++; break;
        case 'r': out[n++] = '\r'; s++; break;
        case 't': out[n++] = '\t'; s++; break;
        case 'u': {
            unsigned cp;
            if (end - s < 5 || !hex4(s + 1, &cp)) {
                free(out);
                return NULL;
            }
            s += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                unsigned lo;
                if (hex4(s + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            free(out);
            return NULL;
        }
    }
    out[n] = '\0';
    ps->p = end + 1;
    return out;
}

static json_value *parse_value(parser *ps);

static int push_item(json_value *v, char *key, json_value *item)
{
    json_value **items = realloc(v->items, (v->count + 1) * sizeof *items);
    if (!items) {
        return 0;
    }
    v->items = items;
    if (v->type == JSON_OBJECT) {
        char **keys = realloc(v->keys, (v->count + 1) * sizeof *keys);
        if (!keys) {
            return 0;
        }
        v->keys = keys;
        v->keys[v->count] = key;
    }
    v->items[v->count++] = item;
    return 1;
}

static json_value *parse_container(parser *ps, int object)
{
    char close = object ? '}' : ']';
    json_value *v = new_value(object ? JSON_OBJECT : JSON_ARRAY);
    if (!v || ++ps->depth > 64) {
        json_free(v);
        return NULL;
    }
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        ps->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (object) {
            if (*ps->p != '"' || !(key = parse_string_raw(ps))) {
                json_free(v);
                return NULL;
            }
            skip_ws(ps);
            if (*ps->p != ':') {
                free(key);
                json_free(v);
                return NULL;
            }
            ps->p++;
        }
        json_value *item = parse_value(ps);
        if (!item || !push_item(v, key, item)) {
            free(key);
            json_free(item);
            json_free(v);
            return NULL;
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == close) {
            ps->p++;
            ps->depth--;
            return v;
        }
        json_free(v);
        return NULL;
    }
}

static json_value *parse_value(parser *ps)
{
    skip_ws(ps);
    const char *p = ps->p;
    if (*p == '{' || *p == '[') {
        return parse_container(ps, *p == '{');
    }
    if (*p == '"') {
        char *s = parse_string_raw(ps);
        json_value *v = s ? new_value(JSON_STRING) : NULL;
        if (!v) {
            free(s);
            return NULL;
        }
        v->string = s;
        return v;
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        json_value *v = new_value(JSON_BOOL);
        if (v) {
            v->boolean = *p == 't';
            ps->p += v->boolean ? 4 : 5;
        }
        return v;
    }
    if (strncmp(p, "null", 4) == 0) {
        ps->p += 4;
        return new_value(JSON_NULL);
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end;
        double d = strtod(p, &end);
        if (end == p) {
            return NULL;
        }
        json_value *v = new_value(JSON_NUMBER);
        if (v) {
            v->number = d;
            ps->p = end;
        }
        return v;
    }
    return NULL;
}

json_value *json_parse(const char *text)
{
    if (!text) {
        return NULL;
    }
    parser ps = { text, 0 };
    json_value *v = parse_value(&ps);
    if (!v) {
        return NULL;
    }
    skip_ws(&ps);
    if (*ps.p != '\0') {
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(json_value *v)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < v->count; i++) {
        json_free(v->items[i]);
        if (v->keys) {
            free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const json_value *json_get(const json_value *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < v->count; i++) {
        if (strcmp(v->keys[i], key) == 0) {
            return v->items[i];
        }
    }
    return NULL;
}

const json_value *json_at(const json_value *v, size_t i)
{
    if (!v || v->type != JSON_ARRAY || i >= v->count) {
        return NULL;
    }
    return v->items[i];
}

const char *json_get_str(const json_value *v, const char *key)
{
    const json_value *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->string : NULL;
}

double json_get_num(const json_value *v, const char *key, double fallback)
{
    const json_value *m = json_get(v, key);
    return m && m->type == JSON_NUMBER ? m->number : fallback;
}

int json_equal(const json_value *a, const json_value *b)
{
    if (!a || !b || a->type != b->type) {
        return a == b;
    }
    switch (a->type) {
    case JSON_NULL: return 1;
    case JSON_BOOL: return a->boolean == b->boolean;
    case JSON_NUMBER: return a->number == b->number;
    case JSON_STRING: return strcmp(a->string, b->string) == 0;
    case JSON_ARRAY:
        if (a->count != b->count) {
            return 0;
        }
        for (size_t i = 0; i < a->count; i++) {
            if (!json_equal(a->items[i], b->items[i])) {
                return 0;
            }
        }
        return 1;
    case JSON_OBJECT:
        if (a->count != b->count) {
            return 0;
        }
        for (size_t i = 0; i < a->count; i++) {
            if (!json_equal(a->items[i], json_get(b, a->keys[i]))) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

int json_equals_text(const json_value *v, const char *text)
{
    json_value *t = json_parse(text);
    int eq = t && json_equal(v, t);
    json_free(t);
    return eq;
}
