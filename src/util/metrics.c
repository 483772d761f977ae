/* metrics.c — Prometheus text-format lines (see metrics.h). */
#include "dealerbot/metrics.h"

#include "dealerbot/histogram.h"

void metrics_value(FILE *f, const char *name, const char *type, const char *help, double v)
{
    metrics_family(f, name, type, help);
    fprintf(f, "%s %.17g\n", name, v);
}

void metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(FILE *f, const char *name, const char *label, const char *label_value,
                    double v)
{
    fprintf(f, "%s{%s=\"%s\"} %.17g\n", name, label, label_value, v);
}

void metrics_summary(FILE *f, const char *name, const char *help, const struct histogram *h)
{
    static const double qs[] = {0.5, 0.9, 0.99, 1.0};
    metrics_family(f, name, "summary", help);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        fprintf(f, "%s{quantile=\"%g\"} %.6f\n", name, qs[i],
                (double)histogram_quantile(h, qs[i]) / 1e6);
    fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, (double)h->sum_us / 1e6, name,
            (unsigned long long)h->count);
}
