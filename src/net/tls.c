/*
 * tls.c - the OpenSSL contexts for TLS over TCP (RFC 3261 26.2, RFC 5630
 * for sips:). The record layer itself runs in tcp.c through memory BIOs, so
 * that libuv keeps doing all socket I/O.
 */
#include <openssl/err.h>
#include <stdio.h>

#include "net_int.h"

static void log_ssl(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    pl__net_log("TLS: %s: %s", what, e ? buf : "unknown error");
}

int pl__net_tls_init(pl_net *net)
{
    const pl_net_config *c = &net->cfg;
    net->tls_client = SSL_CTX_new(TLS_client_method());
    if (!net->tls_client)
        return PL_ENOMEM;
    SSL_CTX_set_min_proto_version(net->tls_client, TLS1_2_VERSION);
    if (c->tls_ca) {
        if (SSL_CTX_load_verify_locations(net->tls_client, c->tls_ca, NULL) != 1) {
            log_ssl(c->tls_ca);
            return PL_EINVAL;
        }
        SSL_CTX_set_verify(net->tls_client, SSL_VERIFY_PEER, NULL);
    }
    if (c->tls_cert && c->tls_key) {
        /* The same certificate serves, and identifies us as a client. */
        if (SSL_CTX_use_certificate_chain_file(net->tls_client, c->tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(net->tls_client, c->tls_key, SSL_FILETYPE_PEM) != 1) {
            log_ssl(c->tls_cert);
            return PL_EINVAL;
        }
        net->tls_server = SSL_CTX_new(TLS_server_method());
        if (!net->tls_server)
            return PL_ENOMEM;
        SSL_CTX_set_min_proto_version(net->tls_server, TLS1_2_VERSION);
        if (SSL_CTX_use_certificate_chain_file(net->tls_server, c->tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(net->tls_server, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(net->tls_server) != 1) {
            log_ssl(c->tls_cert);
            return PL_EINVAL;
        }
        if (c->tls_verify_client && c->tls_ca) {
            if (SSL_CTX_load_verify_locations(net->tls_server, c->tls_ca, NULL) != 1) {
                log_ssl(c->tls_ca);
                return PL_EINVAL;
            }
            SSL_CTX_set_verify(net->tls_server, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                               NULL);
        }
    }
    return PL_OK;
}

void pl__net_tls_free(pl_net *net)
{
    SSL_CTX_free(net->tls_server);
    SSL_CTX_free(net->tls_client);
    net->tls_server = NULL;
    net->tls_client = NULL;
}
