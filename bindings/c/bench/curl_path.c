/*
 * curl_path.c: the libcurl baseline of the presence benchmark (owned by bindings/c/bench): one
 * easy handle that signs in by hand (discovery, challenge, token, user, applications,
 * makeMeAvailable) and then sends bare presence POSTs on its kept-alive connection; and the
 * simulator's control API (its log and users), read with the same helpers.
 */
#define _GNU_SOURCE

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"

/* ----- libcurl helpers ----------------------------------------------------------------- */

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One request on handle h (kept alive across calls); returns the HTTP status. The body and the
 * response headers land in body/headers (reset first), each NUL-terminated. */
static long curl_request(CURL *h, const char *method, const char *url, struct curl_slist *hdrs,
                         const char *post, buf *body, buf *headers)
{
    body->len = 0;
    headers->len = 0;
    buf_write("", 1, 0, body);
    buf_write("", 1, 0, headers);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, headers);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        die("%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static CURL *new_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h) {
        die("curl_easy_init failed");
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, buf_write);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    return h;
}

/* Resolves a (possibly relative) href against the server origin ("http://127.0.0.1:P"). */
static void resolve(const char *origin, const char *href, char *out, size_t out_len)
{
    if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0) {
        snprintf(out, out_len, "%s", href);
    } else {
        snprintf(out, out_len, "%s%s%s", origin, href[0] == '/' ? "" : "/", href);
    }
}

static const char *link_href(const json_value *obj, const char *rel)
{
    const char *h = json_get_str(json_get(json_get(obj, "_links"), rel), "href");
    if (!h) {
        die("no _links.%s.href in a response", rel);
    }
    return h;
}

static json_value *parse_or_die(const buf *b, const char *what)
{
    json_value *v = json_parse(b->data);
    if (!v) {
        die("%s: response is not JSON", what);
    }
    return v;
}

/* The curl path: bob's whole sign-in done by hand on one handle (so one kept-alive connection),
 * leaving h configured for the presence POSTs. Fills presence_url and auth_header. */
void curl_sign_in(curl_path *cp, const char *root_url)
{
    char origin[256];
    const char *slash = strchr(root_url + 7, '/');
    snprintf(origin, sizeof origin, "%.*s", (int)(slash ? slash - root_url : (long)strlen(root_url)),
             root_url);
    char url[1024];
    char auth[512];
    cp->h = new_handle();
    struct curl_slist *accept = curl_slist_append(NULL, "Accept: application/json");

    /* discovery root → user */
    long st = curl_request(cp->h, "GET", root_url, accept, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET root: %ld", st);
    }
    json_value *root = parse_or_die(&cp->body, "root");
    char user_url[1024];
    resolve(origin, link_href(root, "user"), user_url, sizeof user_url);
    json_free(root);

    /* user without a token → 401 with the MsRtcOAuth challenge naming the token endpoint */
    st = curl_request(cp->h, "GET", user_url, accept, NULL, &cp->body, &cp->headers);
    const char *ch = strstr(cp->headers.data, "MsRtcOAuth href=\"");
    if (st != 401 || !ch) {
        die("GET user without token: %ld, no MsRtcOAuth challenge", st);
    }
    ch += strlen("MsRtcOAuth href=\"");
    const char *end = strchr(ch, '"');
    if (!end) {
        die("unterminated MsRtcOAuth href");
    }
    snprintf(url, sizeof url, "%.*s", (int)(end - ch), ch);

    /* password grant → token */
    char *u = curl_easy_escape(cp->h, PATH_USERS[PATH_CURL], 0);
    char *p = curl_easy_escape(cp->h, PATH_PASSWORDS[PATH_CURL], 0);
    char form[512];
    snprintf(form, sizeof form, "grant_type=password&username=%s&password=%s", u, p);
    curl_free(u);
    curl_free(p);
    struct curl_slist *form_h = curl_slist_append(NULL, "Accept: application/json");
    form_h = curl_slist_append(form_h,
                               "Content-Type: application/x-www-form-urlencoded;charset=UTF-8");
    st = curl_request(cp->h, "POST", url, form_h, form, &cp->body, &cp->headers);
    curl_slist_free_all(form_h);
    if (st != 200) {
        die("POST token: %ld", st);
    }
    json_value *tok = parse_or_die(&cp->body, "token");
    const char *at = json_get_str(tok, "access_token");
    const char *tt = json_get_str(tok, "token_type");
    if (!at || !tt) {
        die("token response without access_token/token_type");
    }
    snprintf(auth, sizeof auth, "Authorization: %s %s", tt, at);
    json_free(tok);

    /* The headers every later request carries: what ucwa sends (transport.rs). */
    struct curl_slist *get_h = curl_slist_append(NULL, "Accept: application/json");
    get_h = curl_slist_append(get_h, auth);
    struct curl_slist *post_h = curl_slist_append(NULL, "Accept: application/json");
    post_h = curl_slist_append(post_h, auth);
    post_h = curl_slist_append(post_h, "Content-Type: application/json");
    post_h = curl_slist_append(post_h, "Expect:"); /* never wait for 100-continue */
    cp->post_headers = post_h;

    /* user with the token → applications */
    st = curl_request(cp->h, "GET", user_url, get_h, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET user with token: %ld", st);
    }
    json_value *user = parse_or_die(&cp->body, "user");
    char apps_url[1024];
    resolve(origin, link_href(user, "applications"), apps_url, sizeof apps_url);
    json_free(user);

    /* create the application */
    st = curl_request(cp->h, "POST", apps_url, post_h,
                      "{\"userAgent\":\"curl-bench\",\"endpointId\":\"curl-bench-1\","
                      "\"culture\":\"en-US\"}",
                      &cp->body, &cp->headers);
    if (st != 201 && st != 200) {
        die("POST applications: %ld", st);
    }
    json_value *app = parse_or_die(&cp->body, "application");
    char app_url[1024];
    char mma_url[1024];
    resolve(origin, link_href(app, "self"), app_url, sizeof app_url);
    resolve(origin, link_href(json_get(json_get(app, "_embedded"), "me"), "makeMeAvailable"),
            mma_url, sizeof mma_url);
    json_free(app);

    st = curl_request(cp->h, "POST", mma_url, post_h, "{\"supportedModalities\":[\"Messaging\"]}",
                      &cp->body, &cp->headers);
    if (st != 204 && st != 200) {
        die("POST makeMeAvailable: %ld", st);
    }

    /* the application again: me now links presence */
    st = curl_request(cp->h, "GET", app_url, get_h, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET application: %ld", st);
    }
    app = parse_or_die(&cp->body, "application");
    resolve(origin, link_href(json_get(json_get(app, "_embedded"), "me"), "presence"),
            cp->presence_url, sizeof cp->presence_url);
    json_free(app);
    curl_slist_free_all(accept);
    curl_slist_free_all(get_h);

    /* Leave the handle set up for the warm loop: only the body changes per request. */
    curl_easy_setopt(cp->h, CURLOPT_URL, cp->presence_url);
    curl_easy_setopt(cp->h, CURLOPT_HTTPHEADER, cp->post_headers);
}

static const char BODY_BUSY[] = "{\"availability\":\"Busy\"}";
static const char BODY_ONLINE[] = "{\"availability\":\"Online\"}";

/* One warm bare-libcurl presence POST. */
void curl_post_presence(curl_path *cp, int busy)
{
    const char *b = busy ? BODY_BUSY : BODY_ONLINE;
    cp->body.len = 0;
    cp->headers.len = 0;
    curl_easy_setopt(cp->h, CURLOPT_POSTFIELDS, b);
    curl_easy_setopt(cp->h, CURLOPT_POSTFIELDSIZE, (long)(busy ? sizeof BODY_BUSY - 1
                                                               : sizeof BODY_ONLINE - 1));
    CURLcode rc = curl_easy_perform(cp->h);
    long status = 0;
    curl_easy_getinfo(cp->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        die("curl presence POST: %s, HTTP %ld", curl_easy_strerror(rc), status);
    }
}

/* ----- the simulator's control API, over the same libcurl helpers ---------------------- */

json_value *sim_get(const char *origin, const char *path)
{
    CURL *h = new_handle();
    buf body = { 0 };
    buf headers = { 0 };
    char url[512];
    snprintf(url, sizeof url, "%s%s", origin, path);
    long st = curl_request(h, "GET", url, NULL, NULL, &body, &headers);
    curl_easy_cleanup(h);
    free(headers.data);
    if (st != 200) {
        die("GET %s: %ld", path, st);
    }
    json_value *v = json_parse(body.data);
    free(body.data);
    if (!v) {
        die("GET %s: not JSON", path);
    }
    return v;
}

size_t presence_posts(const json_value *log, const char *user)
{
    size_t n = 0;
    for (size_t i = 0; log && i < log->count; i++) {
        const json_value *e = log->items[i];
        const char *m = json_get_str(e, "method");
        const char *r = json_get_str(e, "route");
        const char *u = json_get_str(e, "user");
        n += m && r && u && strcmp(m, "POST") == 0 && strcmp(r, "presence") == 0 &&
             strcmp(u, user) == 0;
    }
    return n;
}

