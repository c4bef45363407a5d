/*
 * sofia-sip: msg_make(sip_default_mclass(), 0, buf, len), walk, msg_destroy.
 *
 * msg_make() copies the buffer into a new message and extracts it: every
 * header the default SIP class knows (which is most of RFC 3261 and its
 * common extensions, but not P-Asserted-Identity) is decoded by its class's
 * parser while it is extracted; any other header becomes a sip_unknown_t
 * (name, value). The full parse then walks every header slot of the sip_t
 * and every header in each slot's list, reading its class and its decoded
 * form, so that nothing is left unvisited. sofia-sip has no lighter mode,
 * so BENCH_PROXY is not offered for it.
 */
#include "bench_parse.h"

#include <stdio.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>

static msg_mclass_t const *mclass;

int sofia_setup(void)
{
    mclass = sip_default_mclass();
    return mclass != NULL ? 0 : -1;
}

/* Visit every header of every kind: the sip_t is a table of header lists. */
static uint64_t touch_all(sip_t const *sip, uint32_t *count)
{
    uint64_t acc = 0;
    uint32_t n = 0;
    msg_header_t *const *slot = (msg_header_t *const *)&sip->sip_request;
    msg_header_t *const *end = (msg_header_t *const *)((char const *)sip + sip->sip_size);

    for (; slot < end; slot++) {
        for (msg_header_t const *h = *slot; h != NULL; h = h->sh_next) {
            acc += (uintptr_t)h->sh_class + h->sh_len;
            n++;
            if (h->sh_class->hc_params != 0) {
                /* A header with parameters: read the parameter array too. */
                msg_param_t const *params =
                    *(msg_param_t const *const *)((char const *)h + h->sh_class->hc_params);
                for (; params != NULL && *params != NULL; params++)
                    acc += (uint8_t)(*params)[0];
            }
        }
    }
    *count = n;
    return acc;
}

static void summarise(sip_t const *sip, bench_summary *sum)
{
    sum->is_request = sip->sip_request != NULL;
    if (sip->sip_request != NULL)
        bench_copy(sum->method, sizeof sum->method, sip->sip_request->rq_method_name,
                   strlen(sip->sip_request->rq_method_name));
    if (sip->sip_status != NULL)
        sum->status = sip->sip_status->st_status;
    if (sip->sip_cseq != NULL) {
        sum->cseq = sip->sip_cseq->cs_seq;
        bench_copy(sum->cseq_method, sizeof sum->cseq_method, sip->sip_cseq->cs_method_name,
                   strlen(sip->sip_cseq->cs_method_name));
    }
    for (sip_via_t const *v = sip->sip_via; v != NULL; v = v->v_next)
        sum->vias++;
    for (sip_contact_t const *c = sip->sip_contact; c != NULL; c = c->m_next)
        sum->contacts++;
    for (sip_route_t const *r = sip->sip_route; r != NULL; r = r->r_next)
        sum->routes++;
    for (sip_record_route_t const *r = sip->sip_record_route; r != NULL; r = r->r_next)
        sum->record_routes++;
    if (sip->sip_content_length != NULL) {
        sum->has_content_length = true;
        sum->content_length = sip->sip_content_length->l_length;
    }
    sum->body_len = 0;
    for (sip_payload_t const *pl = sip->sip_payload; pl != NULL; pl = pl->pl_next)
        sum->body_len += pl->pl_len;
    if (sip->sip_call_id != NULL)
        bench_copy(sum->call_id, sizeof sum->call_id, sip->sip_call_id->i_id,
                   strlen(sip->sip_call_id->i_id));
    if (sip->sip_from != NULL && sip->sip_from->a_tag != NULL)
        bench_copy(sum->from_tag, sizeof sum->from_tag, sip->sip_from->a_tag,
                   strlen(sip->sip_from->a_tag));
}

int sofia_parse(const bench_msg *m, bench_mode mode, bench_summary *sum)
{
    if (mode != BENCH_FULL) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "sofia-sip has no proxy-path mode");
        return -1;
    }
    msg_t *msg = msg_make(mclass, 0, m->buf, (ssize_t)m->len);
    if (msg == NULL) {
        if (sum != NULL)
            snprintf(sum->error, sizeof sum->error, "msg_make returned NULL");
        return -1;
    }
    sip_t const *sip = sip_object(msg);
    if (sip == NULL || msg_has_error(msg) || (sip->sip_flags & MSG_FLG_ERROR) != 0 ||
        sip->sip_error != NULL || (sip->sip_request == NULL && sip->sip_status == NULL)) {
        if (sum != NULL) {
            if (sip != NULL && sip->sip_error != NULL)
                snprintf(sum->error, sizeof sum->error, "header %s could not be parsed",
                         sip->sip_error->er_name ? sip->sip_error->er_name : "(unnamed)");
            else
                snprintf(sum->error, sizeof sum->error, "message has an error (flags %#x)",
                         sip != NULL ? (unsigned)sip->sip_flags : 0u);
        }
        msg_destroy(msg);
        return -1;
    }
    uint32_t headers = 0;
    bench_sink += touch_all(sip, &headers);
    if (sum != NULL)
        summarise(sip, sum);
    msg_destroy(msg);
    return 0;
}
