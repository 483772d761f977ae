/*
 * notify.h — tells a service manager (systemd, Type=notify) how the daemon is doing, by the
 * documented sd_notify datagram protocol: one datagram of "KEY=value" lines to the AF_UNIX
 * socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). Without that variable nothing is
 * sent, so the daemon runs the same anywhere else.
 *
 * Main thread; no allocation; the socket is opened and closed per call (a handful of calls in
 * the daemon's life).
 */
#ifndef DEALERBOT_NOTIFY_H
#define DEALERBOT_NOTIFY_H

/* Sends `state` ("READY=1\nSTATUS=...", "STOPPING=1"). Returns 0 when sent or when no service
 * manager listens ($NOTIFY_SOCKET unset), DBOT_ERR_INVALID for a bad $NOTIFY_SOCKET,
 * DBOT_ERR_IO when the datagram could not be sent. */
int notify_send(const char *state);

#endif
