/*
 * backend_int.h: what the engine (http.c) and the backends (backend.c)
 * share inside the library.  Not installed, not for the pipeline.
 */
#ifndef MONITOR_BACKEND_INT_H
#define MONITOR_BACKEND_INT_H

#include <curl/curl.h>

#include "monitor/backend.h"

struct gm_server {
	char *url;           /* base URL actually used (WSL2: may be the host's) */
	size_t inflight;     /* transfers running against it */
	uint64_t down_until; /* gm_now_ms() before which it is not chosen */
};

struct gm_backend {
	enum gm_backend_kind kind;
	struct gm_server *servers;
	size_t nservers;
	char *model;
	char *api_key;
	size_t concurrency;
	long timeout_s, stall_s;
	unsigned max_retries;
	size_t max_body;
	bool stream;
	bool forced_tool; /* claude: the model accepts a forced tool */
	bool prepared;
	int64_t context_length;
	char *wsl_host;   /* the Windows host address that answered, or NULL */
};

/* How long a server that could not be reached is passed over. */
#define GM_SERVER_DOWN_MS 30000

/* Build one attempt against `server`: URL, header list and body. */
int gm_backend_build(const struct gm_backend *b, const struct gm_chat_request *req,
                     const struct gm_server *server, char **url,
                     struct curl_slist **headers, char **body);

/*
 * Parse a 2xx answer into `res`; on failure `res->error_message` is set
 * (naming the server), and *retry says whether to try again.
 */
int gm_backend_parse(const struct gm_backend *b, const struct gm_server *server,
                     const struct gm_chat_request *req, struct gm_chat_result *res,
                     bool *retry, const char *content_type, const char *body,
                     size_t len);

/* One-line message for a non-2xx answer, naming the server. */
char *gm_backend_http_error(const struct gm_backend *b, const struct gm_server *server,
                            long status, const char *body, size_t len);

/* One-line message for a transfer that failed, naming the server. */
char *gm_backend_transfer_error(const struct gm_backend *b,
                                const struct gm_server *server, bool unreachable,
                                const char *cause);

#endif
