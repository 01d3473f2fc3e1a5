/* Links against libHindsightC.so through hindsight.h only: opens a database, adds and recalls,
   checks statuses and an error object, closes. Exit status 0 when every check holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hindsight.h"

static int failures = 0;
#define CHECK(condition, text) do { if (!(condition)) { fprintf(stderr, "FAILED: %s (%s)\n", text, #condition); failures++; } } while (0)

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    hindsight_database *db = NULL;
    char *error = NULL;
    int status = hindsight_open(argv[1], "{\"embedder\": \"hashing\", \"hashing_dimension\": 16}", &db, &error);
    CHECK(status == 0 && db != NULL && error == NULL, "open");
    if (status != 0) { fprintf(stderr, "%s\n", error ? error : "?"); return 1; }

    char *out = NULL;
    size_t length = 0;
    status = hindsight_collection_create(db, "{\"name\": \"agents.bull\", \"dimension\": 16, \"embedding_model\": \"hashing-16\"}", &out, &length);
    CHECK(status == 201 && strstr(out, "\"name\":\"agents.bull\"") && length == strlen(out), "create");
    hindsight_free(out);

    status = hindsight_add(db, "agents.bull", "{\"memories\": [{\"id\": \"m1\", \"situation\": \"Moutai 600519.SH breaks out on volume\", "
                                              "\"reflection\": \"Buy the breakout\", \"ticker\": \"600519.SH\", \"time\": \"2025-03-03\"}]}", &out, &length);
    CHECK(status == 201 && strstr(out, "\"ids\":[0]"), "add");
    hindsight_free(out);

    status = hindsight_recall(db, "agents.bull", "{\"texts\": [\"600519.SH breakout on volume\"], \"k\": 1, \"as_of\": \"2025-03-04\"}", &out, &length);
    CHECK(status == 200 && strstr(out, "Buy the breakout"), "recall sees the past");
    hindsight_free(out);
    status = hindsight_recall(db, "agents.bull", "{\"texts\": [\"600519.SH breakout on volume\"], \"k\": 1, \"as_of\": \"2025-03-01\"}", &out, &length);
    CHECK(status == 200 && strcmp(out, "{\"results\":[[]]}") == 0, "recall never sees the future");
    hindsight_free(out);

    status = hindsight_collection_get(db, "no/such", &out, &length);
    CHECK(status == 404 && strstr(out, "\"code\":\"unknown_collection\""), "error object");
    hindsight_free(out);

    status = hindsight_request(db, "GET", "/v1/collections/agents.bull/memories/m1", NULL, 0, &out, &length);
    CHECK(status == 200 && strstr(out, "\"ticker\":\"600519.SH\""), "generic request");
    hindsight_free(out);

    status = hindsight_request(NULL, "GET", "/health", NULL, 0, &out, NULL);
    CHECK(status == 400 && strstr(out, "NULL"), "NULL handle is an error, not a crash");
    hindsight_free(out);

    hindsight_close(db);
    CHECK(strcmp(hindsight_version(), "0.1.0") == 0, "version");
    if (failures == 0) printf("c api ok\n");
    return failures == 0 ? 0 : 1;
}
