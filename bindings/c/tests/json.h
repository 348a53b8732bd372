/*
 * json.h: a minimal JSON reader for the C tests, owned by bindings/c/tests.
 *
 * The tests read ucwa-sim's control API (/_sim/log, /_sim/users/...), which answers JSON.
 * Asserting on parsed values (not substrings of the raw text) keeps the assertions exact:
 * "exactly one POST on route presence whose body is {"availability":"Busy"}".
 * It parses a whole document into a tree; strings are decoded (escapes, \uXXXX with surrogate
 * pairs) into NUL-terminated UTF-8. Not a general-purpose parser: no streaming, depth <= 64.
 */
#ifndef UCWA_TESTS_JSON_H
#define UCWA_TESTS_JSON_H

#include <stddef.h>

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json_value json_value;

struct json_value {
    json_type type;
    int boolean;
    double number;
    char *string;          /* JSON_STRING */
    size_t count;          /* JSON_ARRAY / JSON_OBJECT: number of items */
    json_value **items;    /* JSON_ARRAY / JSON_OBJECT: values */
    char **keys;           /* JSON_OBJECT: keys, parallel to items */
};

/* Parses text; NULL when it is not exactly one JSON value (surrounding whitespace allowed). */
json_value *json_parse(const char *text);
void json_free(json_value *v);

/* Member of an object by key; NULL when v is not an object or has no such key. */
const json_value *json_get(const json_value *v, const char *key);
/* Element of an array; NULL when out of range or not an array. */
const json_value *json_at(const json_value *v, size_t i);
/* The string of a member, or NULL when missing, null or not a string. */
const char *json_get_str(const json_value *v, const char *key);
/* The number of a member, or `fallback` when missing or not a number. */
double json_get_num(const json_value *v, const char *key, double fallback);
/* Structural equality (object member order ignored); numbers compared exactly. */
int json_equal(const json_value *a, const json_value *b);
/* Parses `text` and compares it with v; 0 when text does not parse. */
int json_equals_text(const json_value *v, const char *text);

#endif
