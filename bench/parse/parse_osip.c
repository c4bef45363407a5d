/*
 * libosip2: osip_message_init, osip_message_parse, osip_message_free.
 *
 * osip_message_parse() copies the buffer and parses every header it knows
 * (Via, From, To, Call-ID, CSeq, Contact, Route, Record-Route, the
 * Content-* headers, Accept*, Allow, Alert-Info, Call-Info, Error-Info,
 * Mime-Version and the authentication headers) into structures; any other
 * header is kept as a name and a value string. It has no lighter mode, so
 * BENCH_PROXY is not offered for it.
 */
#include "bench_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_parser.h>

int osip_setup(void)
{
    return parser_init();
}

static void summarise(osip_message_t *sip, bench_summary *sum)
{
    sum->is_request = MSG_IS_REQUEST(sip);
    if (sum->is_request) {
        if (sip->sip_method != NULL)
            bench_copy(sum->method, sizeof sum->method, sip->sip_method, strlen(sip->sip_method));
    } else {
        sum->status = sip->status_code;
    }
    if (sip->cseq != NULL) {
        if (sip->cseq->number != NULL)
            sum->cseq = (uint32_t)strtoul(sip->cseq->number, NULL, 10);
        if (sip->cseq->method != NULL)
            bench_copy(sum->cseq_method, sizeof sum->cseq_method, sip->cseq->method,
                       strlen(sip->cseq->method));
    }
    sum->vias = (uint32_t)osip_list_size(&sip->vias);
    sum->contacts = (uint32_t)osip_list_size(&sip->contacts);
    sum->routes = (uint32_t)osip_list_size(&sip->routes);
    sum->record_routes = (uint32_t)osip_list_size(&sip->record_routes);
    if (sip->content_length != NULL && sip->content_length->value != NULL) {
        sum->has_content_length = true;
        sum->content_length = (uint32_t)strtoul(sip->content_length->value, NULL, 10);
    }
    sum->body_len = 0;
    for (int i = 0; i < osip_list_size(&sip->bodies); i++) {
        osip_body_t *b = osip_list_get(&sip->bodies, i);
        sum->body_len += b->length;
    }
    if (sip->call_id != NULL && sip->call_id->number != NULL) {
        char tmp[sizeof sum->call_id];
        if (sip->call_id->host != NULL)
            snprintf(tmp, sizeof tmp, "%s@%s", sip->call_id->number, sip->call_id->host);
        else
            snprintf(tmp, sizeof tmp, "%s", sip->call_id->number);
        bench_copy(sum->call_id, sizeof sum->call_id, tmp, strlen(tmp));
    }
    osip_generic_param_t *tag = NULL;
    if (sip->from != NULL && osip_from_get_tag(sip->from, &tag) == 0 && tag != NULL &&
        tag->gvalue != NULL)
        bench_copy(sum->from_tag, sizeof sum->from_tag, tag->gvalue, strlen(tag->gvalue));
}

int osip_parse(const bench_msg *m, bench_mode mode, bench_summary *sum)
{
    osip_message_t *sip = NULL;

    if (mode != BENCH_FULL) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "libosip2 has no proxy-path mode");
        return -1;
    }
    if (osip_message_init(&sip) != 0) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "osip_message_init failed");
        return -1;
    }
    int rc = osip_message_parse(sip, m->buf, m->len);
    if (rc != 0) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "osip_message_parse returned %d", rc);
        osip_message_free(sip);
        return -1;
    }
    if (sum != NULL)
        summarise(sip, sum);
    bench_sink += (uint64_t)osip_list_size(&sip->vias) + (uint64_t)(sip->cseq != NULL);
    osip_message_free(sip);
    return 0;
}
