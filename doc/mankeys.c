/*
 * mankeys.c — writes dealerbot.conf(5) from its template, with the list of configuration keys
 * taken from the loader's own table (config_key_at()), so the manual lists exactly the keys
 * the daemon accepts, with their types, defaults and descriptions.
 *
 * usage: dbot_mankeys TEMPLATE OUT — copies TEMPLATE to OUT, replacing the line "@KEYS@" with
 * one .TP entry per key and "@VERSION@" with the version. Build tool; not installed.
 */
#include <stdio.h>
#include <string.h>

#include "dealerbot/config.h"

/* Text for a troff body line: backslashes doubled as \e, a leading '.' or '\'' guarded. */
static void roff_text(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void keys(FILE *out)
{
    struct config_key_info k;
    for (size_t i = 0; config_key_at(i, &k); i++) {
        fputs(".TP\n.B ", out);
        roff_text(out, k.name);
        fputs("\n(", out);
        roff_text(out, k.type);
        if (k.required)
            fputs("; required", out);
        if (k.def) {
            fputs("; default ", out);
            roff_text(out, k.def);
        }
        fputs(")\n", out);
        roff_text(out, k.doc);
        fputs(".\n", out);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dbot_mankeys TEMPLATE OUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[2], "w");
    if (!out) {
        perror(argv[2]);
        fclose(in);
        return 1;
    }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        if (!strcmp(line, "@KEYS@\n")) {
            keys(out);
            continue;
        }
        char *v = strstr(line, "@VERSION@");
        if (v) {
            fwrite(line, 1, (size_t)(v - line), out);
            fputs(DBOT_VERSION, out);
            fputs(v + strlen("@VERSION@"), out);
            continue;
        }
        fputs(line, out);
    }
    int bad = ferror(in) || ferror(out);
    fclose(in);
    if (fclose(out) != 0 || bad) {
        fprintf(stderr, "dbot_mankeys: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
