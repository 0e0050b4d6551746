// libpq, loaded on first use. CPQ declares libpq's API (libpq-fe.h) without linking libpq; this
// target defines each function Caraway calls as a forwarder to the real one, found with dlsym in
// libpq.so.5, which is dlopened by the first call. A node without --database and every pool
// child never load libpq and its ~20 dependencies (Kerberos, LDAP, GnuTLS, OpenSSL): ~4.5 MiB of
// resident memory per process and a faster child spawn (docs/performance.md).
#ifndef CPQLAZY_H
#define CPQLAZY_H
/// 1 once libpq.so.5 is loaded (for tests and /metrics), else 0.
int caraway_libpq_loaded(void);
#endif
