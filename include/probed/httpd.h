/* httpd.h — the HTTP listener: /metrics, the status page, /api/status, /healthz.
 *
 * libmicrohttpd without any thread of its own: the daemon is started with
 * MHD_USE_EPOLL (external polling), its epoll fd sits in an ev_io on the daemon's
 * loop and an ev_timer follows MHD_get_timeout(); both call MHD_run(). Requests are
 * answered synchronously on the loop from the daemon's live views and the store.
 *
 *   listen "127.0.0.1:9464" | "[::1]:9464" | "[::]:9464" (dual stack) | "name:port"
 *
 * Limits: PD_HTTPD_MAX_CONN connections (PD_HTTPD_MAX_CONN_PER_IP per client address),
 * PD_HTTPD_MEM_LIMIT bytes per connection for the request line and headers (larger
 * requests get 431/414 from libmicrohttpd), PD_HTTPD_TIMEOUT_S idle timeout; a connection
 * must deliver a whole request head within PD_HTTPD_REQUEST_TIMEOUT_S of opening (or of
 * its previous answer), and have it answered within PD_HTTPD_ANSWER_TIMEOUT_S, or it is
 * closed (a slowloris holds a slot for at most that long, however it trickles); one whose
 * client has gone is closed within a tick even where libmicrohttpd misses the end of the
 * stream. The listener always recovers once the clients go: MHD_run() runs at least every
 * PD_HTTPD_TICK_S while connections are open (PD_HTTPD_IDLE_TICK_S otherwise), and again
 * at once after a run that leaves the connection limit.
 *
 * The systemd watchdog is deliberately not tied to the listener: it is fed from the loop
 * (a stalled loop stops it), and the listener runs on that loop, so it cannot stall
 * without the loop stalling. Feeding it only while /healthz answers would let anyone
 * who can open PD_HTTPD_MAX_CONN connections get probed restarted by systemd, turning an
 * attack on a status page into a gap in probing and paging. Only GET
 * and HEAD (405 otherwise, with Allow:). When the config has http.bearer_token, every
 * path except /healthz needs "Authorization: Bearer <token>" (compared in constant
 * time) or gets 401. The token and location are read from the daemon's current config
 * on every request, so a SIGHUP can rotate them; a new http.listen needs a restart.
 * Header values are never logged.
 */
#ifndef PROBED_HTTPD_H
#define PROBED_HTTPD_H
#include <stddef.h>
#include <sys/socket.h>
#include "probed/daemon.h"
#include "probed/err.h"

#define PD_HTTPD_MAX_CONN 64
#define PD_HTTPD_MAX_CONN_PER_IP 16
#define PD_HTTPD_MEM_LIMIT (32 * 1024)
#define PD_HTTPD_TIMEOUT_S 10        /* idle: no byte either way */
#define PD_HTTPD_REQUEST_TIMEOUT_S 5 /* a whole request head, from open or last answer */
#define PD_HTTPD_ANSWER_TIMEOUT_S 30 /* the answer, from its request head */
#define PD_HTTPD_TICK_S 0.25         /* MHD_run() and the deadlines, connections open */
#define PD_HTTPD_IDLE_TICK_S 1.0     /* ... and with none open */
#define PD_HTTPD_GONE_AFTER_MS 200   /* a waiting connection is checked for a gone client */
#define PD_HTTPD_BODY_LIMIT (16 * 1024 * 1024) /* cap on a rendered response */

struct pd_httpd;

/* Parse a listen address ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"; names are
 * resolved with getaddrinfo, first result wins) into *ss / *len. Port 0 is accepted
 * here (an ephemeral port; see pd_httpd_port). 0 or PD_ERR_INVALID with err set. */
int pd_httpd_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
			  struct pd_err *err);

/* Start listening on listen for daemon d (borrowed: free the listener before the daemon).
 * Watchers go on pd_daemon_loop(d). Returns NULL with err set (PD_ERR_INVALID for a bad
 * address, PD_ERR_IO when it cannot listen, PD_ERR_NOMEM). */
struct pd_httpd *pd_httpd_new(struct pd_daemon *d, const char *listen, struct pd_err *err);
/* Stop the watchers, close every connection and the socket. NULL is a no-op. */
void pd_httpd_free(struct pd_httpd *h);
/* The bound port (useful with port 0). */
unsigned pd_httpd_port(const struct pd_httpd *h);

/* ---- without a listening socket (the fuzz harness, tests) ----
 * The same listener (handlers, limits, libmicrohttpd options) with no socket of its own
 * (MHD_USE_NO_LISTEN_SOCKET): the caller hands it connected sockets. */
struct pd_httpd *pd_httpd_new_unbound(struct pd_daemon *d, struct pd_err *err);
/* Serve fd (ownership passes to the listener, even on failure) as a client at addr.
 * 0 or PD_ERR_IO (connection limit, out of memory). */
int pd_httpd_add_connection(struct pd_httpd *h, int fd, const struct sockaddr *addr, socklen_t len,
			    struct pd_err *err);
/* One pass of what the loop's watchers do: MHD_run(), then re-arm the timer. */
void pd_httpd_run(struct pd_httpd *h);
/* Connections open now. */
unsigned pd_httpd_connections(const struct pd_httpd *h);

#endif
