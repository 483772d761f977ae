/* Placeholder while the CLI is being written. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "dealerbot: not built yet\n");
    return 1;
}
