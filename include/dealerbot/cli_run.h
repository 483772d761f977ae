/*
 * cli_run.h — `dealerbot run`: the daemon. Sets the process time zone from the config, routes
 * libwebsockets' log through log_*, creates the one lws context (explicit vhosts, so the chat
 * client can add its own), starts the intake API on http.listen, and runs the loop on the
 * calling thread until SIGTERM or SIGINT.
 *
 * On a signal it stops cleanly: the queued intake is committed, the answers in flight are
 * written (for at most RUN_DRAIN_MS), the context is destroyed, and it returns.
 *
 * Borrows cfg and st (opened and migrated by the caller, who closes them afterwards). Installs
 * handlers for SIGTERM/SIGINT (they only set a flag and wake the loop) and ignores SIGPIPE for
 * its duration; the previous dispositions are restored on return. Main thread only.
 */
#ifndef DEALERBOT_CLI_RUN_H
#define DEALERBOT_CLI_RUN_H

#include "dealerbot/config.h"
#include "dealerbot/store.h"

/* How long a stop waits for answers still being written. */
#define RUN_DRAIN_MS 2000

/* Runs the daemon. Returns the process exit status: 0 after a clean stop, 1 when it could
 * not start (the reason is logged as one line: bad time zone, cannot listen, ...). */
int cli_run(const struct config *cfg, struct store *st);

#endif
