/*
 * metrics.h — the one writer of Prometheus text format (version 0.0.4) lines: the HTTP server
 * (GET /metrics), the engine's chat link and the scheduler all print through it. Writes to
 * the caller's FILE (a memory stream); no state; the loop thread, like its callers.
 */
#ifndef DEALERBOT_METRICS_H
#define DEALERBOT_METRICS_H

#include <stdio.h>

struct histogram;

/* Prints one counter or gauge (type "counter" | "gauge") with its HELP and TYPE lines. */
void metrics_value(FILE *f, const char *name, const char *type, const char *help, double v);

/* Prints the HELP and TYPE lines of a family whose samples carry labels; then print each
 * sample with metrics_sample. */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);

/* One sample of a labelled family: name{label="value"} v. label_value is ours (no escaping:
 * it must not hold '"', '\\' or a line break). */
void metrics_sample(FILE *f, const char *name, const char *label, const char *label_value,
                    double v);

/* Prints histogram h as a Prometheus summary in seconds: quantiles 0.5, 0.9, 0.99 and 1
 * (the maximum), _sum and _count, with HELP and TYPE lines. */
void metrics_summary(FILE *f, const char *name, const char *help, const struct histogram *h);

#endif
