#include "CPQLazy.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <postgresql/libpq-fe.h>

static void *libpq;

int caraway_libpq_loaded(void) { return libpq != NULL; }

/* Every caller runs on its node's single loop thread, so no locking; a missing library or symbol
   is a broken installation, reported plainly before aborting (there is no way to go on). */
static void *resolve(const char *name) {
    if (libpq == NULL) {
        libpq = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
        if (libpq == NULL) {
            fprintf(stderr, "caraway: cannot load libpq.so.5 (%s); install the libpq5 package\n", dlerror());
            abort();
        }
    }
    void *symbol = dlsym(libpq, name);
    if (symbol == NULL) {
        fprintf(stderr, "caraway: libpq.so.5 has no %s (%s)\n", name, dlerror());
        abort();
    }
    return symbol;
}

#define FORWARD(ret, name, params, args)                                   \
    ret name params {                                                      \
        static ret (*real) params;                                         \
        if (real == NULL) real = (ret (*) params)resolve(#name);           \
        return real args;                                                  \
    }
#define FORWARD_VOID(name, params, args)                                   \
    void name params {                                                     \
        static void (*real) params;                                        \
        if (real == NULL) real = (void (*) params)resolve(#name);          \
        real args;                                                         \
    }

FORWARD(PGconn *, PQconnectStart, (const char *conninfo), (conninfo))
FORWARD(PostgresPollingStatusType, PQconnectPoll, (PGconn *conn), (conn))
FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn))
FORWARD(int, PQsocket, (const PGconn *conn), (conn))
FORWARD(int, PQflush, (PGconn *conn), (conn))
FORWARD(int, PQsetnonblocking, (PGconn *conn, int arg), (conn, arg))
FORWARD(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn *conn, PQnoticeReceiver proc, void *arg), (conn, proc, arg))
FORWARD(int, PQsendQueryParams,
        (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues,
         const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
FORWARD(int, PQisBusy, (PGconn *conn), (conn))
FORWARD(int, PQconsumeInput, (PGconn *conn), (conn))
FORWARD(PGresult *, PQgetResult, (PGconn *conn), (conn))
FORWARD(PGnotify *, PQnotifies, (PGconn *conn), (conn))
FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn))
FORWARD_VOID(PQfinish, (PGconn *conn), (conn))
FORWARD(PQconninfoOption *, PQconndefaults, (void), ())
FORWARD_VOID(PQconninfoFree, (PQconninfoOption *connOptions), (connOptions))
FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res))
FORWARD(char *, PQresStatus, (ExecStatusType status), (status))
FORWARD(char *, PQresultErrorMessage, (const PGresult *res), (res))
FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
FORWARD(int, PQntuples, (const PGresult *res), (res))
FORWARD(int, PQnfields, (const PGresult *res), (res))
FORWARD(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD(int, PQgetlength, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
FORWARD(char *, PQcmdStatus, (PGresult *res), (res))
FORWARD(char *, PQcmdTuples, (PGresult *res), (res))
FORWARD_VOID(PQclear, (PGresult *res), (res))
FORWARD_VOID(PQfreemem, (void *ptr), (ptr))
