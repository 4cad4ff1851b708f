/* The embedders of a process, by model key.
 *
 * A tenant's vectors belong to the model that made them (its key,
 * "url|model|dimensions", embed.h). The configured embedder (the embed_*
 * settings) is the target: new chunks are embedded with it once its slot is
 * live. While a tenant's live slot still holds another model's vectors (the
 * settings changed and `lore reembed` has not finished), queries against that
 * slot must be embedded with the old model, so the registry also opens
 * embedders for such keys: the configured settings (batch, timeouts) with
 * the key's URL, model and dimensions, and the API key only when the key's
 * URL has embed_url's scheme, host and port (a key is its provider's
 * secret: the provider a switch leaves must not receive the new one's).
 *
 * Thread-safe: any thread may look up and use the embedders (embed() is
 * thread-safe); they live until the registry is freed. */
#ifndef LORE_EMBED_EMBED_REGISTRY_H
#define LORE_EMBED_EMBED_REGISTRY_H

#include <stddef.h>
#include "config/config.h"
#include "embed/embed.h"
#include "util/status.h"

/* Most embedders one registry opens for keys other than the configured one. */
#define EMBED_REGISTRY_MAX_OTHERS 4

typedef struct embed_registry embed_registry;

/* A registry over the configured embedder. *out is NULL (and LORE_OK) when
 * no embedder is configured (embed_url empty). LORE_INVALID (err says which
 * setting) when the settings are unusable. */
LORE_MUST_CHECK lore_status embed_registry_open(const lore_config *c, embed_registry **out,
                                                char *err, size_t errlen);
/* A registry over an embedder the caller opened (tests); takes ownership. */
LORE_MUST_CHECK lore_status embed_registry_wrap(embedder *configured, const embed_settings *s,
                                                embed_registry **out);
void embed_registry_free(embed_registry *r);

/* The configured embedder (never NULL). */
embedder *embed_registry_configured(embed_registry *r);

/* The embedder for model key: the configured one when the key is its key,
 * else one opened (once) from the configured settings with the key's URL,
 * model and dimensions ("native": the model's own). NULL when the key is
 * malformed, the registry is full, or opening fails: err says why. */
embedder *embed_registry_for_key(embed_registry *r, const char *key, char *err, size_t errlen);

/* Splits a model key "url|model|dims" (dims a number or "native") into its
 * parts: url and model into the buffers, *dims (0 for native). -1 when
 * malformed (no two separators, an empty part, a bad number, too long). */
int embed_key_split(const char *key, char *url, size_t urllen, char *model, size_t modellen,
                    int64_t *dims);

#endif
