/* A second OFX reader for the ofx_statements tests: GnuCash's libofx (the library under
 * ofxdump), printing one line per bank/card transaction it reads:
 *     TRN <FITID or -> <amount, 2 decimals> <1 if the posted date is valid else 0>
 * Investment trades (INVTRAN) are left out: only STMTTRN is compared.
 * Build: cc libofx_transactions.c -lofx -o libofx_transactions */
#include <stdio.h>
#include <libofx/libofx.h>

static int on_transaction(const struct OfxTransactionData data, void *unused) {
    (void)unused;
    if (data.invtransactiontype_valid) return 0;
    printf("TRN %s %.2f %d\n", data.fi_id_valid ? data.fi_id : "-",
           data.amount_valid ? data.amount : 0.0, data.date_posted_valid ? 1 : 0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.ofx\n", argv[0]);
        return 2;
    }
    LibofxContextPtr ctx = libofx_get_new_context();
    ofx_set_transaction_cb(ctx, on_transaction, NULL);
    int rc = libofx_proc_file(ctx, argv[1], AUTODETECT);
    libofx_free_context(ctx);
    return rc == 0 ? 0 : 1;
}
