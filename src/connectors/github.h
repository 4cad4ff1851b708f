/* The GitHub connector (github.c: verify and inspect; github_docs.c: the
 * object states and the documents). See docs/connectors.md, "GitHub". */
#ifndef LORE_CONNECTORS_GITHUB_H
#define LORE_CONNECTORS_GITHUB_H

#include "connectors/connector.h"

extern const connector_ops connector_github;

/* Longest repository full name lore accepts ("owner/name": GitHub allows 39
 * and 100 characters). */
#define GITHUB_REPO_MAX 160

/* The object a delivery of event (a GitHub event name) changes, from its
 * payload: its state key into key (CONNECTOR_STATE_KEY_MAX + 1 bytes) and
 * the repository's full name into repo (GITHUB_REPO_MAX + 1 bytes). Keys:
 *   "owner/repo#12"               an issue or a pull request (one number space)
 *   "owner/repo/discussions/7"    a discussion
 *   "owner/repo/releases/123456"  a release (by its numeric id)
 *   "owner/repo"                  the repository itself (`repository` events)
 * Returns 1 when the event is one lore reads, 0 for one it ignores, -1 when
 * the payload lacks what names the object (why filled). */
int github_object_key(const char *event, const json_t *payload, char *key, char *repo, char *why,
                      size_t whylen);

/* apply and render of the table (github_docs.c). */
lore_status github_apply(connector_sink *s, const char *event, const json_t *payload, char **error);
lore_status github_render(connector_sink *s, const char *key);

#endif
