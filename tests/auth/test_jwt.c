/* JWT access tokens and JWKS: keys generated here (RSA-2048, RSA-1024,
 * EC P-256), tokens signed here, the key set served by a real HTTP server
 * on 127.0.0.1 that counts its requests. Valid RS256/ES256 tokens with
 * their subject, principals and scopes; every refusal (issuer, audience,
 * times, signature, kid, algorithms, key types, malformed input, size,
 * weak keys, scopes, header parameters); key rotation and the limits on
 * refetching; a key set server that fails or goes away; concurrent first
 * use; and jwks_parse on its own. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/apikey.h"
#include "auth/jwks.h"
#include "auth/jwt.h"
#include "test.h"
#include "util/log.h"

#define NOW 1800000000000LL /* ms; the verifier only ever sees these clocks */
#define NOW_S (NOW / 1000)
#define ISS "https://idp.example.com/"
#define AUD "https://lore.example.com/mcp"

static EVP_PKEY *rsa1, *rsa2, *weak, *ec1, *ec2;

/* ---- base64url and signing ---- */

/* Unpadded base64url through OpenSSL's encoder (not the code under test). */
static char *b64(const void *data, size_t n) {
    char *out = malloc(n / 3 * 4 + 8);
    int len = EVP_EncodeBlock((uint8_t *)out, data, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* Signs input with key (SHA-256); EC signatures come out as raw r||s. */
static char *signature(const char *input, EVP_PKEY *key) {
    uint8_t sig[1024], raw[64];
    size_t n = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &n, (const uint8_t *)input, strlen(input)) != 1)
        abort();
    EVP_MD_CTX_free(md);
    if (!EVP_PKEY_is_a(key, "EC")) return b64(sig, n);
    const uint8_t *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
        abort();
    ECDSA_SIG_free(es);
    return b64(raw, 64);
}

/* "a.b"; frees both. */
static char *dotted(char *a, char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s", a, b);
    free(a), free(b);
    return out;
}

/* "header.payload" of JSON texts, base64url-encoded; owned. */
static char *signing_input(const char *header, const char *payload) {
    return dotted(b64(header, strlen(header)), b64(payload, strlen(payload)));
}

/* header.payload.signature from JSON texts; key NULL: an empty signature. */
static char *sign_raw(const char *header, const char *payload, EVP_PKEY *key) {
    char *input = signing_input(header, payload);
    return dotted(input, key ? signature(input, key) : strdup(""));
}

/* A token of alg and kid (NULL: none) over claims (consumed). */
static char *token(const char *alg, const char *kid, json_t *claims, EVP_PKEY *key) {
    json_t *h = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    if (kid) json_object_set_new(h, "kid", json_string(kid));
    char *hs = json_dumps(h, JSON_COMPACT), *ps = json_dumps(claims, JSON_COMPACT);
    char *tok = sign_raw(hs, ps, key);
    free(hs), free(ps);
    json_decref(h);
    json_decref(claims);
    return tok;
}

/* Claims that pass every check; tests change one thing at a time. */
static json_t *claims(void) {
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:[s, s]}", "iss", ISS, "aud", AUD, "sub",
                     "alice-sub", "email", "alice@example.com", "exp", (json_int_t)NOW_S + 3600,
                     "iat", (json_int_t)NOW_S - 10, "scope", "read write", "groups", "eng", "ops");
}

static json_t *with(json_t *c, const char *name, json_t *v) {
    if (v)
        json_object_set_new(c, name, v);
    else
        json_object_del(c, name);
    return c;
}

/* ---- keys as JWKs ---- */

static char *bn_b64(EVP_PKEY *k, const char *param, int pad) {
    BIGNUM *bn = NULL;
    uint8_t buf[1024];
    if (EVP_PKEY_get_bn_param(k, param, &bn) != 1) abort();
    int n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64(buf, (size_t)n);
}

static json_t *jwk(EVP_PKEY *k, const char *kid) {
    json_t *j;
    if (EVP_PKEY_is_a(k, "RSA")) {
        char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0), *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
        j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "use", "sig",
                      "alg", "RS256", "n", n, "e", e);
        free(n), free(e);
    } else {
        char *x = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
        char *y = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
        j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", kid, "crv", "P-256", "x", x,
                      "y", y);
        free(x), free(y);
    }
    return j;
}

/* {"keys":[...]} of n keys with their kids; owned text. */
static char *jwks_text(size_t n, EVP_PKEY *const *keys, const char *const *kids) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, jwk(keys[i], kids[i]));
    json_t *root = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

/* ---- the key set server ---- */

static struct {
    pthread_mutex_t mu;
    char *body; /* owned */
    int status;
    int requests;
    int fd;
    uint16_t port;
    atomic_int stop;
    pthread_t thread;
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void srv_set(char *body, int status) {
    pthread_mutex_lock(&srv.mu);
    free(srv.body);
    srv.body = body;
    srv.status = status;
    pthread_mutex_unlock(&srv.mu);
}

static int srv_requests(void) {
    pthread_mutex_lock(&srv.mu);
    int n = srv.requests;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

static void srv_answer(int c) {
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        struct pollfd p = {c, POLLIN, 0};
        ssize_t n = poll(&p, 1, 2000) > 0 ? recv(c, req + got, sizeof req - 1 - got, 0) : 0;
        if (n <= 0) break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n")) break;
    }
    pthread_mutex_lock(&srv.mu);
    srv.requests++;
    char *body = strdup(srv.body ? srv.body : "");
    int status = srv.status;
    pthread_mutex_unlock(&srv.mu);
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, strlen(body));
    if (send(c, head, (size_t)hn, MSG_NOSIGNAL) == hn)
        for (size_t off = 0, len = strlen(body); off < len;) {
            ssize_t w = send(c, body + off, len - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
    free(body);
    close(c);
}

static void *srv_main(void *arg) {
    (void)arg;
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {srv.fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(srv.fd, NULL, NULL);
        if (c >= 0) srv_answer(c);
    }
    return NULL;
}

static void srv_start(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) || listen(srv.fd, 16) ||
        getsockname(srv.fd, (struct sockaddr *)&a, &alen))
        abort();
    srv.port = ntohs(a.sin_port);
    if (pthread_create(&srv.thread, NULL, srv_main, NULL)) abort();
}

/* Stops the server and closes its socket: connections are refused. */
static void srv_stop(void) {
    atomic_store(&srv.stop, 1);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
}

/* ---- verifying ---- */

static jwt_verifier *verifier(const char *scope, const char *user_claim, const char *groups) {
    jwt_config c;
    jwt_config_default(&c);
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/jwks", (unsigned)srv.port);
    c.issuer = ISS;
    c.audience = AUD;
    c.jwks_url = url;
    c.required_scope = scope;
    c.user_claim = user_claim;
    c.groups_claim = groups;
    c.jwks_timeout_s = 2;
    jwt_verifier *v = NULL;
    if (jwt_verifier_new(&c, &v, err, sizeof err) != LORE_OK) {
        fprintf(stderr, "jwt_verifier_new: %s\n", err);
        abort();
    }
    return v;
}

/* Verifies tok (consumed) at now; the claims go to out if given. */
static jwt_result verify_at(jwt_verifier *v, char *tok, int64_t now, jwt_claims *out) {
    jwt_claims c;
    jwt_result r = jwt_verify(v, tok, strlen(tok), now, &c);
    CHECK((r == JWT_OK) == (c.subject != NULL));
    if (out)
        *out = c;
    else
        jwt_claims_free(&c);
    free(tok);
    return r;
}

static jwt_result verify(jwt_verifier *v, char *tok) {
    return verify_at(v, tok, NOW, NULL);
}

/* Verifies an RS256 token of key r1 over claims cl (consumed). */
static jwt_result rs(jwt_verifier *v, json_t *cl) {
    return verify(v, token("RS256", "r1", cl, rsa1));
}

/* The same with the claims to out. */
static jwt_result rs_out(jwt_verifier *v, json_t *cl, jwt_claims *out) {
    return verify_at(v, token("RS256", "r1", cl, rsa1), NOW, out);
}

/* A token of alg, kid and key with the default claims, verified at t. */
static jwt_result at(jwt_verifier *v, const char *alg, const char *kid, EVP_PKEY *key, int64_t t) {
    return verify_at(v, token(alg, kid, claims(), key), t, NULL);
}

/* ---- cases ---- */

static void test_valid(jwt_verifier *v) {
    int before = srv_requests();
    jwt_claims c;
    CHECK_INT(rs_out(v, claims(), &c), JWT_OK);
    CHECK_INT(srv_requests(), before + 1); /* the first use fetched the set */
    CHECK_STR(c.subject, "alice-sub");
    CHECK_INT(c.nprincipals, 3);
    if (c.nprincipals == 3) {
        CHECK_STR(c.principals[0], "user:alice@example.com");
        CHECK_STR(c.principals[1], "group:eng");
        CHECK_STR(c.principals[2], "group:ops");
    }
    CHECK_INT(c.scopes, AUTH_SCOPE_READ | AUTH_SCOPE_WRITE);
    CHECK_INT(c.exp_ms, (NOW_S + 3600) * 1000);
    jwt_claims_free(&c);

    /* ES256; scp as an array, a lore: name; email not verified. */
    json_t *cl = with(claims(), "scp", json_pack("[s, s]", "read", "lore:admin"));
    with(cl, "scope", NULL);
    with(cl, "email_verified", json_false());
    CHECK_INT(verify_at(v, token("ES256", "e1", cl, ec1), NOW, &c), JWT_OK);
    CHECK_INT(c.scopes, AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN);
    CHECK(c.nprincipals >= 1 && !strcmp(c.principals[0], "user:alice-sub"));
    jwt_claims_free(&c);
    CHECK_INT(srv_requests(), before + 1); /* served from the cache */

    /* typ at+jwt (RFC 9068), aud as an array holding ours, scp a string. */
    cl = with(claims(), "aud", json_pack("[s, s]", "https://other.example.com", AUD));
    with(with(cl, "scope", NULL), "scp", json_string("read"));
    const char *hs = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"r1\"}";
    char *ps = json_dumps(cl, JSON_COMPACT);
    CHECK_INT(verify(v, sign_raw(hs, ps, rsa1)), JWT_OK);
    free(ps);
    json_decref(cl);
    /* Within the leeway of 60 s on every side. */
    CHECK_INT(rs(v, with(claims(), "exp", json_integer(NOW_S - 30))), JWT_OK);
    CHECK_INT(rs(v, with(claims(), "nbf", json_integer(NOW_S + 30))), JWT_OK);
    CHECK_INT(rs(v, with(claims(), "iat", json_real(NOW_S + 30.5))), JWT_OK);
}

static void test_groups(jwt_verifier *v) {
    /* Invalid group names, duplicates and non-strings are skipped. */
    json_t *g = json_pack("[s, s, s, s, i, s]", "eng", "bad\nname", "", " lead", 7, "eng");
    jwt_claims c;
    CHECK_INT(rs_out(v, with(claims(), "groups", g), &c), JWT_OK);
    CHECK_INT(c.nprincipals, 2);
    if (c.nprincipals == 2) CHECK_STR(c.principals[1], "group:eng");
    for (size_t i = 0; i < c.nprincipals; i++)
        CHECK(auth_principal_valid(c.principals[i]));
    jwt_claims_free(&c);
    /* A single string; capped at 64 principals in all. */
    CHECK_INT(rs_out(v, with(claims(), "groups", json_string("hr")), &c), JWT_OK);
    CHECK(c.nprincipals == 2 && !strcmp(c.principals[1], "group:hr"));
    jwt_claims_free(&c);
    g = json_array();
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        json_array_append_new(g, json_string(name));
    }
    CHECK_INT(rs_out(v, with(claims(), "groups", g), &c), JWT_OK);
    CHECK_INT(c.nprincipals, JWT_MAX_PRINCIPALS);
    CHECK_STR(c.principals[JWT_MAX_PRINCIPALS - 1], "group:g62");
    jwt_claims_free(&c);
    /* An email that is no valid principal falls back to sub. */
    CHECK_INT(rs_out(v, with(claims(), "email", json_string("a\tb")), &c), JWT_OK);
    CHECK(c.nprincipals >= 1 && !strcmp(c.principals[0], "user:alice-sub"));
    jwt_claims_free(&c);
}

static void test_claims_refused(jwt_verifier *v) {
    CHECK_INT(rs(v, with(claims(), "iss", json_string("https://evil/"))), JWT_WRONG_ISSUER);
    CHECK_INT(rs(v, with(claims(), "iss", NULL)), JWT_WRONG_ISSUER);
    CHECK_INT(rs(v, with(claims(), "aud", json_string(AUD "/x"))), JWT_WRONG_AUDIENCE);
    CHECK_INT(rs(v, with(claims(), "aud", json_pack("[s, s]", "a", "https://x/mcp"))),
              JWT_WRONG_AUDIENCE);
    CHECK_INT(rs(v, with(claims(), "aud", NULL)), JWT_WRONG_AUDIENCE);
    CHECK_INT(rs(v, with(claims(), "exp", json_integer(NOW_S - 61))), JWT_EXPIRED);
    CHECK_INT(rs(v, with(claims(), "exp", json_integer(NOW_S - 60))), JWT_EXPIRED);
    CHECK_INT(rs(v, with(claims(), "nbf", json_integer(NOW_S + 120))), JWT_NOT_YET_VALID);
    CHECK_INT(rs(v, with(claims(), "iat", json_integer(NOW_S + 120))), JWT_NOT_YET_VALID);
    CHECK_INT(rs(v, with(claims(), "exp", NULL)), JWT_INVALID_CLAIMS);
    CHECK_INT(rs(v, with(claims(), "exp", json_string("soon"))), JWT_INVALID_CLAIMS);
    CHECK_INT(rs(v, with(claims(), "exp", json_real(1e300))), JWT_INVALID_CLAIMS);
    CHECK_INT(rs(v, with(claims(), "sub", NULL)), JWT_INVALID_CLAIMS);
    CHECK_INT(rs(v, with(claims(), "sub", json_string(""))), JWT_INVALID_CLAIMS);
    /* Scopes: "read" is required, verbatim. */
    CHECK_INT(rs(v, with(claims(), "scope", json_string("write"))), JWT_INSUFFICIENT_SCOPE);
    CHECK_INT(rs(v, with(claims(), "scope", NULL)), JWT_INSUFFICIENT_SCOPE);
    CHECK_INT(rs(v, with(claims(), "scope", json_string("lore:read"))), JWT_INSUFFICIENT_SCOPE);
    CHECK_INT(rs(v, with(claims(), "scope", json_string("readx"))), JWT_INSUFFICIENT_SCOPE);
    CHECK_INT(rs(v, with(claims(), "scope", json_pack("[s]", "read"))), JWT_INVALID_CLAIMS);
}

/* A copy of tok with the character at i (from the end if negative)
 * replaced by another base64url character. */
static char *flipped(char *tok, long i) {
    size_t at = i < 0 ? strlen(tok) - (size_t)-i : (size_t)i;
    tok[at] = tok[at] == 'A' ? 'B' : 'A';
    return tok;
}

static void test_signature_refused(jwt_verifier *v) {
    CHECK_INT(verify(v, flipped(token("RS256", "r1", claims(), rsa1), -10)), JWT_BAD_SIGNATURE);
    CHECK_INT(verify(v, flipped(token("ES256", "e1", claims(), ec1), -10)), JWT_BAD_SIGNATURE);
    /* A changed claim: the payload of other claims under the signature. */
    char *t = token("RS256", "r1", claims(), rsa1);
    json_t *cl = with(claims(), "groups", json_pack("[s]", "admins"));
    char *ps = json_dumps(cl, JSON_COMPACT), *p64 = b64(ps, strlen(ps));
    char *forged = malloc(strlen(t) + strlen(p64) + 1);
    sprintf(forged, "%.*s.%s%s", (int)(strchr(t, '.') - t), t, p64, strrchr(t, '.'));
    CHECK_INT(verify(v, forged), JWT_BAD_SIGNATURE);
    json_decref(cl);
    free(ps), free(p64), free(t);
    /* Signed by another key under r1's kid. */
    CHECK_INT(verify(v, token("RS256", "r1", claims(), rsa2)), JWT_BAD_SIGNATURE);
    /* ES256 signatures of the wrong length: longer (the DER form, say) and
     * shorter (nothing may be read past it). */
    t = token("ES256", "e1", claims(), ec1);
    size_t n = (size_t)(strrchr(t, '.') - t);
    for (size_t len = 10; len <= 70; len += 60) {
        char *sig =
            b64("0123456789012345678901234567890123456789012345678901234567890123456789", len);
        char *t2 = malloc(n + strlen(sig) + 2);
        sprintf(t2, "%.*s.%s", (int)n, t, sig);
        CHECK_INT(verify(v, t2), JWT_BAD_SIGNATURE);
        free(sig);
    }
    free(t);
}

static void test_keys_refused(jwt_verifier *v) {
    int before = srv_requests();
    CHECK_INT(verify(v, token("RS256", "nope", claims(), rsa1)), JWT_UNKNOWN_KID);
    CHECK_INT(srv_requests(), before); /* fetched under 30 s ago: no refetch */
    CHECK_INT(verify(v, token("RS256", NULL, claims(), rsa1)), JWT_MISSING_KID);
    CHECK_INT(verify(v, token("RS256", "e1", claims(), rsa1)), JWT_KEY_MISMATCH);
    CHECK_INT(verify(v, token("ES256", "r1", claims(), ec1)), JWT_KEY_MISMATCH);
    CHECK_INT(verify(v, token("RS256", "w1", claims(), weak)), JWT_REJECTED_KEY);
    CHECK_INT(verify(v, token("none", "r1", claims(), NULL)), JWT_UNSUPPORTED_ALG);
    CHECK_INT(verify(v, token("none", NULL, claims(), NULL)), JWT_UNSUPPORTED_ALG);
    CHECK_INT(verify(v, token("HS256", "r1", claims(), NULL)), JWT_UNSUPPORTED_ALG);
    CHECK_INT(verify(v, token("PS256", "r1", claims(), NULL)), JWT_UNSUPPORTED_ALG);
    CHECK_INT(verify(v, token("rs256", "r1", claims(), NULL)), JWT_UNSUPPORTED_ALG);
    /* HS256 with a real MAC keyed by the RSA key's public modulus (the
     * classic key confusion): still refused. */
    json_t *cl = claims();
    const char *hs = "{\"alg\":\"HS256\",\"kid\":\"r1\"}";
    char *ps = json_dumps(cl, JSON_COMPACT), *input = signing_input(hs, ps);
    json_decref(cl);
    uint8_t n[256], mac[32];
    size_t maclen = 0;
    BIGNUM *bn = NULL;
    CHECK(EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, &bn) == 1);
    int nlen = BN_bn2bin(bn, n);
    BN_free(bn);
    CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, n, (size_t)nlen, (uint8_t *)input,
                    strlen(input), mac, sizeof mac, &maclen) != NULL);
    CHECK_INT(verify(v, dotted(input, b64(mac, maclen))), JWT_UNSUPPORTED_ALG);
    /* Header parameters. */
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JOSE\"}", ps, rsa1)),
              JWT_UNSUPPORTED_HEADER);
    CHECK_INT(
        verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}", ps, rsa1)),
        JWT_UNSUPPORTED_HEADER);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\",\"kid\":\"r1\"}", ps, rsa1)),
              JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":7}", ps, rsa1)), JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"kid\":\"r1\"}", ps, rsa1)), JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\"}", ps, rsa1)), JWT_OK);
    free(ps);
}

static jwt_result verify_str(jwt_verifier *v, const char *s) {
    return verify(v, strdup(s));
}

static void test_malformed(jwt_verifier *v) {
    jwt_claims c;
    CHECK_INT(jwt_verify(v, NULL, 0, NOW, &c), JWT_MALFORMED);
    CHECK_INT(verify_str(v, ""), JWT_MALFORMED);
    CHECK_INT(verify_str(v, "abc"), JWT_MALFORMED);
    CHECK_INT(verify_str(v, "eyJhbGciOiJSUzI1NiJ9.e30"), JWT_MALFORMED);
    char *good = token("RS256", "r1", claims(), rsa1);
    char *s = malloc(strlen(good) + 8);
    CHECK_INT(verify(v, strdup(good)), JWT_OK); /* the base the cases below break */
    sprintf(s, "%s.x", good);                   /* four segments */
    CHECK_INT(verify_str(v, s), JWT_MALFORMED);
    sprintf(s, "%s=", good); /* padding */
    CHECK_INT(verify_str(v, s), JWT_MALFORMED);
    strcpy(s, good);
    *strrchr(s, '.') = '\0';
    strcat(s, "."); /* an empty signature */
    CHECK_INT(verify_str(v, s), JWT_MALFORMED);
    strcpy(s, good);
    s[strlen(s) - 4] = '+'; /* base64, not base64url */
    CHECK_INT(verify_str(v, s), JWT_MALFORMED);
    strcpy(s, good);
    s[strchr(s, '.') - s + 3] = '/';
    CHECK_INT(verify_str(v, s), JWT_MALFORMED);
    sprintf(s, "%.*s..%s", (int)(strchr(good, '.') - good), good, strrchr(good, '.') + 1);
    CHECK_INT(verify_str(v, s), JWT_MALFORMED); /* empty payload */
    free(s);
    free(good);
    /* Not JSON, not an object, NUL inside, nesting too deep, bad trailing bits. */
    CHECK_INT(verify(v, sign_raw("nope", "{}", rsa1)), JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("[\"RS256\"]", "{}", rsa1)), JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[1]", rsa1)),
              JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "not json", rsa1)),
              JWT_MALFORMED);
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r\\u0000\"}", "{}", rsa1)),
              JWT_MALFORMED);
    char deep[128] = "{\"a\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    CHECK_INT(verify(v, sign_raw("{\"alg\":\"RS256\",\"kid\":\"r1\"}", deep, rsa1)), JWT_MALFORMED);
    /* "e30" is {} but "e31" carries stray bits in its last character. */
    CHECK_INT(verify_str(v, "eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.e31.AAAA"), JWT_MALFORMED);
    CHECK_INT(verify_str(v, "eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.e30.AAAA"), JWT_WRONG_ISSUER);
}

static void test_size(jwt_verifier *v) {
    char pad[7000];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    char *t = token("RS256", "r1", with(claims(), "pad", json_string(pad)), rsa1);
    CHECK(strlen(t) > JWT_MAX_TOKEN);
    CHECK_INT(verify(v, t), JWT_TOO_LARGE);
    pad[5000] = '\0';
    t = token("RS256", "r1", with(claims(), "pad", json_string(pad)), rsa1);
    CHECK(strlen(t) <= JWT_MAX_TOKEN);
    CHECK_INT(verify(v, t), JWT_OK);
}

static void test_other_claims(void) {
    /* user_claim "sub", groups from "roles", no scope required. */
    jwt_verifier *v = verifier(NULL, "sub", "roles");
    jwt_claims c;
    json_t *cl = with(with(claims(), "roles", json_string("admins")), "scope", NULL);
    CHECK_INT(verify_at(v, token("ES256", "e1", cl, ec1), NOW, &c), JWT_OK);
    CHECK_INT(c.nprincipals, 2);
    if (c.nprincipals == 2) {
        CHECK_STR(c.principals[0], "user:alice-sub");
        CHECK_STR(c.principals[1], "group:admins");
    }
    CHECK_INT(c.scopes, 0);
    jwt_claims_free(&c);
    jwt_verifier_free(v);
    /* Several scopes required; groups disabled. */
    v = verifier("read write", NULL, "");
    CHECK_INT(rs_out(v, claims(), &c), JWT_OK);
    CHECK_INT(c.nprincipals, 1);
    jwt_claims_free(&c);
    CHECK_INT(rs(v, with(claims(), "scope", json_string("read"))), JWT_INSUFFICIENT_SCOPE);
    jwt_verifier_free(v);
    /* Configuration errors. */
    jwt_config cfg;
    jwt_config_default(&cfg);
    char err[128];
    CHECK_INT(jwt_verifier_new(&cfg, &v, err, sizeof err), LORE_INVALID);
    CHECK(strstr(err, "issuer") != NULL);
    cfg.issuer = ISS, cfg.audience = AUD, cfg.jwks_url = "ftp://x/jwks";
    CHECK_INT(jwt_verifier_new(&cfg, &v, err, sizeof err), LORE_INVALID);
    CHECK(v == NULL);
}

static void test_rotation(jwt_verifier *v) {
    EVP_PKEY *keys[] = {rsa2, ec2};
    const char *kids[] = {"r2", "e2"};
    srv_set(jwks_text(2, keys, kids), 200);
    int before = srv_requests();
    int64_t t = NOW + 40000; /* 40 s after the last fetch */
    CHECK_INT(at(v, "RS256", "r2", rsa2, t), JWT_OK);
    CHECK_INT(srv_requests(), before + 1); /* the unknown kid refetched once */
    /* Another issuer's kids never cause a fetch, even when one is allowed. */
    CHECK_INT(verify_at(v, token("RS256", "other", with(claims(), "iss", json_string("x")), rsa2),
                        t + 30000, NULL),
              JWT_WRONG_ISSUER);
    CHECK_INT(srv_requests(), before + 1);
    CHECK_INT(at(v, "ES256", "e2", ec2, t + 1000), JWT_OK);
    CHECK_INT(at(v, "RS256", "random1", rsa2, t + 5000), JWT_UNKNOWN_KID);
    CHECK_INT(at(v, "RS256", "r1", rsa1, t + 6000), JWT_UNKNOWN_KID);
    CHECK_INT(srv_requests(), before + 1); /* within 30 s: no refetch */
    CHECK_INT(at(v, "RS256", "random2", rsa2, t + 30000), JWT_UNKNOWN_KID);
    CHECK_INT(srv_requests(), before + 2); /* 30 s later one refetch is allowed */
    CHECK_INT(at(v, "RS256", "random3", rsa2, t + 31000), JWT_UNKNOWN_KID);
    CHECK_INT(srv_requests(), before + 2);
}

/* The set goes bad, then away, after the rotation's last fetch at base. */
static void test_server_failing(jwt_verifier *v, int64_t base) {
    int before = srv_requests();
    int64_t t = base + 301000; /* the set is stale */
    srv_set(strdup("{\"error\":\"boom\"}"), 500);
    CHECK_INT(at(v, "RS256", "r2", rsa2, t), JWT_OK);
    CHECK_INT(srv_requests(), before + 1);
    /* A failed fetch waits 5 s before the next attempt. */
    CHECK_INT(at(v, "RS256", "r2", rsa2, t + 1000), JWT_OK);
    CHECK_INT(srv_requests(), before + 1);
    srv_set(strdup("<html>not json</html>"), 200);
    CHECK_INT(at(v, "ES256", "e2", ec2, t + 6000), JWT_OK);
    CHECK_INT(srv_requests(), before + 2);
    char *big = malloc(70 * 1024);
    memset(big, ' ', 70 * 1024 - 1);
    big[70 * 1024 - 1] = '\0';
    srv_set(big, 200); /* over the 64 KiB cap */
    CHECK_INT(at(v, "ES256", "e2", ec2, t + 12000), JWT_OK);
    CHECK_INT(srv_requests(), before + 3);
    srv_set(strdup("{\"keys\":[]}"), 200); /* no usable key: a failure too */
    CHECK_INT(at(v, "ES256", "e2", ec2, t + 18000), JWT_OK);
    CHECK_INT(srv_requests(), before + 4);
    srv_stop(); /* down: connections refused */
    CHECK_INT(at(v, "RS256", "r2", rsa2, t + 24000), JWT_OK);
    CHECK_INT(at(v, "RS256", "r9", rsa2, t + 90000), JWT_UNKNOWN_KID);
    CHECK_INT(at(v, "ES256", "e2", ec2, t + 1200000), JWT_OK);
    /* A verifier that never got a set. */
    jwt_verifier *fresh = verifier("read", NULL, NULL);
    CHECK_INT(at(fresh, "RS256", "r2", rsa2, t), JWT_JWKS_UNAVAILABLE);
    jwt_verifier_free(fresh);
}

/* The cache alone against the stopped server: retries spaced by retry_s. */
static void test_cache_retry(void) {
    char url[64], err[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/jwks", (unsigned)srv.port);
    jwks_cache_config cc;
    jwks_cache_config_default(&cc);
    cc.url = url;
    jwks_cache *c = NULL;
    CHECK_INT(jwks_cache_new(&cc, &c, err, sizeof err), LORE_OK);
    EVP_PKEY *k = (EVP_PKEY *)1;
    CHECK_INT(jwks_cache_key(c, "r2", JWKS_ALG_RS256, NOW, &k), JWKS_UNAVAILABLE);
    CHECK(k == NULL);
    CHECK_INT(jwks_cache_fetches(c), 1);
    CHECK_INT(jwks_cache_key(c, "r2", JWKS_ALG_RS256, NOW + 4000, &k), JWKS_UNAVAILABLE);
    CHECK_INT(jwks_cache_fetches(c), 1);
    CHECK_INT(jwks_cache_key(c, NULL, JWKS_ALG_RS256, NOW + 5000, &k), JWKS_UNAVAILABLE);
    CHECK_INT(jwks_cache_fetches(c), 2);
    jwks_cache_free(c);
    cc.url = "file:///etc/passwd";
    CHECK_INT(jwks_cache_new(&cc, &c, err, sizeof err), LORE_INVALID);
}

struct racer {
    jwt_verifier *v;
    const char *tok;
    jwt_result r;
};

static void *race(void *arg) {
    struct racer *r = arg;
    jwt_claims c;
    r->r = jwt_verify(r->v, r->tok, strlen(r->tok), NOW, &c);
    jwt_claims_free(&c);
    return NULL;
}

/* Eight threads use a fresh verifier at once: one fetch, all verified. */
static void test_concurrent_first_use(void) {
    jwt_verifier *v = verifier("read", NULL, NULL);
    char *tok = token("ES256", "e1", claims(), ec1);
    int before = srv_requests();
    struct racer r[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){v, tok, JWT_INTERNAL};
        if (pthread_create(&th[i], NULL, race, &r[i])) abort();
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(r[i].r, JWT_OK);
    }
    CHECK_INT(srv_requests(), before + 1);
    free(tok);
    jwt_verifier_free(v);
}

static void test_jwks_parse(void) {
    EVP_PKEY *keys[] = {rsa1, ec1, weak};
    const char *kids[] = {"r1", "e1", "w1"};
    char *text = jwks_text(3, keys, kids), err[128];
    jwks_set *s = NULL;
    EVP_PKEY *k = NULL;
    CHECK_INT(jwks_parse(text, strlen(text), &s, err, sizeof err), LORE_OK);
    CHECK_INT(jwks_set_count(s), 2); /* the 1024-bit key is not usable */
    CHECK_INT(jwks_set_find(s, "e1", JWKS_ALG_ES256, &k), JWKS_FOUND);
    CHECK(k != NULL && EVP_PKEY_eq(k, ec1) == 1);
    EVP_PKEY_free(k);
    CHECK_INT(jwks_set_find(s, "w1", JWKS_ALG_RS256, &k), JWKS_KEY_REJECTED);
    CHECK(k == NULL);
    EVP_PKEY_free(k);
    CHECK_INT(jwks_set_find(s, NULL, JWKS_ALG_RS256, &k), JWKS_NO_KID);
    CHECK(k == NULL);
    EVP_PKEY_free(k);
    jwks_set_free(s);
    free(text);
    /* One key: no kid needed, but the type must still fit. */
    text = jwks_text(1, keys, kids);
    CHECK_INT(jwks_parse(text, strlen(text), &s, err, sizeof err), LORE_OK);
    CHECK_INT(jwks_set_find(s, NULL, JWKS_ALG_RS256, &k), JWKS_FOUND);
    EVP_PKEY_free(k);
    CHECK_INT(jwks_set_find(s, NULL, JWKS_ALG_ES256, &k), JWKS_KEY_MISMATCH);
    EVP_PKEY_free(k);
    jwks_set_free(s);
    free(text);
}

/* Parses json; the set goes to *s if s is given, else it is freed. */
static lore_status parse_str(const char *json, jwks_set **s) {
    char err[128];
    jwks_set *set = NULL;
    lore_status st = jwks_parse(json, strlen(json), &set, err, sizeof err);
    CHECK((st == LORE_OK) == (set != NULL));
    if (s)
        *s = set;
    else
        jwks_set_free(set);
    return st;
}

static void test_jwks_parse_refusals(void) {
    jwks_set *s = NULL;
    CHECK_INT(parse_str("not json", NULL), LORE_INVALID);
    CHECK_INT(parse_str("{\"kty\":\"RSA\"}", NULL), LORE_INVALID);
    CHECK_INT(parse_str("{\"keys\":[]}", NULL), LORE_NOT_FOUND);
    CHECK_INT(parse_str("{\"keys\":[[[[[[[[[[]]]]]]]]]]}", NULL), LORE_INVALID);
    /* Skipped: encryption keys, other algorithms, curves and key types. */
    json_t *k = jwk(rsa1, "r1");
    json_object_set_new(k, "use", json_string("enc"));
    json_t *k2 = jwk(rsa1, "r2");
    json_object_set_new(k2, "alg", json_string("RS384"));
    json_t *k3 = jwk(ec1, "e1");
    json_object_set_new(k3, "crv", json_string("P-384"));
    json_t *k4 = json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "h", "k", "c2VjcmV0");
    json_t *k5 = jwk(rsa1, "r5");
    json_object_set_new(k5, "key_ops", json_pack("[s]", "encrypt"));
    json_t *root = json_pack("{s:[o, o, o, o, o]}", "keys", k, k2, k3, k4, k5);
    char *text = json_dumps(root, 0);
    CHECK_INT(parse_str(text, NULL), LORE_NOT_FOUND);
    free(text);
    /* A point off the curve and a padded modulus are rejected keys. */
    k = jwk(ec1, "e1");
    char *y = strdup(json_string_value(json_object_get(k, "y")));
    y[10] = y[10] == 'A' ? 'B' : 'A';
    json_object_set_new(k, "y", json_string(y));
    k2 = jwk(rsa1, "r1");
    char *n = malloc(strlen(json_string_value(json_object_get(k2, "n"))) + 3);
    sprintf(n, "%s==", json_string_value(json_object_get(k2, "n")));
    json_object_set_new(k2, "n", json_string(n));
    json_array_clear(json_object_get(root, "keys"));
    json_array_append_new(json_object_get(root, "keys"), k);
    json_array_append_new(json_object_get(root, "keys"), k2);
    json_array_append_new(json_object_get(root, "keys"), jwk(ec2, "e2"));
    text = json_dumps(root, 0);
    CHECK_INT(parse_str(text, &s), LORE_OK);
    EVP_PKEY *pk = NULL;
    CHECK_INT(jwks_set_count(s), 1);
    CHECK_INT(jwks_set_find(s, "e1", JWKS_ALG_ES256, &pk), JWKS_KEY_REJECTED);
    EVP_PKEY_free(pk);
    CHECK_INT(jwks_set_find(s, "r1", JWKS_ALG_RS256, &pk), JWKS_KEY_REJECTED);
    EVP_PKEY_free(pk);
    CHECK_INT(jwks_set_find(s, NULL, JWKS_ALG_ES256, &pk), JWKS_FOUND); /* the only usable one */
    EVP_PKEY_free(pk);
    jwks_set_free(s);
    free(text), free(y), free(n);
    json_decref(root);
}

static void test_looks_like(void) {
    char *t = token("RS256", "r1", claims(), rsa1);
    CHECK(jwt_looks_like(t));
    free(t);
    CHECK(jwt_looks_like("eyJa.b.c"));
    CHECK(!jwt_looks_like("lore_3f9a0c1b2d4e_q8Xw1Zb0Jc5nYtH2r7UeK9mLpVd3sGfA6oNiWxCyEh4"));
    CHECK(!jwt_looks_like("eyJa.b"));
    CHECK(!jwt_looks_like("eyJa..c"));
    CHECK(!jwt_looks_like("eyJa.b.c."));
    CHECK(!jwt_looks_like("eyJa.b.c d"));
    CHECK(!jwt_looks_like("abc.d.e"));
    CHECK(!jwt_looks_like(NULL));
    CHECK_STR(jwt_result_name(JWT_BAD_SIGNATURE), "bad_signature");
    CHECK_STR(jwt_result_name(JWT_WRONG_AUDIENCE), "wrong_audience");
    CHECK_STR(jwt_result_name((jwt_result)999), "unknown");
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    lore_log_set_level(LORE_LOG_ERROR); /* the failing fetches below warn */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    rsa1 = EVP_RSA_gen(2048), rsa2 = EVP_RSA_gen(2048), weak = EVP_RSA_gen(1024);
    ec1 = EVP_EC_gen("P-256"), ec2 = EVP_EC_gen("P-256");
    if (!rsa1 || !rsa2 || !weak || !ec1 || !ec2) abort();
    EVP_PKEY *keys[] = {rsa1, ec1, weak};
    const char *kids[] = {"r1", "e1", "w1"};
    srv_set(jwks_text(3, keys, kids), 200);
    srv_start();

    test_looks_like();
    test_jwks_parse();
    test_jwks_parse_refusals();
    jwt_verifier *v = verifier("read", NULL, NULL);
    test_valid(v);
    test_groups(v);
    test_claims_refused(v);
    test_signature_refused(v);
    test_keys_refused(v);
    test_malformed(v);
    test_size(v);
    test_other_claims();
    test_concurrent_first_use();
    test_rotation(v);
    test_server_failing(v, NOW + 70000);
    test_cache_retry();
    jwt_verifier_free(v);

    srv_set(NULL, 0);
    EVP_PKEY_free(rsa1), EVP_PKEY_free(rsa2), EVP_PKEY_free(weak);
    EVP_PKEY_free(ec1), EVP_PKEY_free(ec2);
    return test_summary();
}
