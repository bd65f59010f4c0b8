/*
 * link.h — one MQTT broker connection (Paho MQTTAsync over mutual TLS),
 * bridged into a libuv loop.
 *
 * Threading: every dg_link_* function and every callback runs on the loop
 * thread. Paho's callbacks run on Paho's threads; they only copy what arrived
 * into a mutex-protected queue and uv_async_send(), and the loop drains the
 * queue. Paho is never called from its own callbacks.
 *
 * Connection: automatic reconnect with backoff (0.5 s .. 5 s); every
 * subscription added with dg_link_subscribe() is re-made on every (re)connect.
 * TLS: TLS 1.2 minimum, server certificate and host name verified, client
 * certificate presented.
 *
 * Publishing: dg_link_publish() copies topic and payload into the link's own
 * bounded FIFO and hands Paho at most `max_inflight` at a time, feeding the
 * next one from the broker's acknowledgement (QoS 1 PUBACK). The `done`
 * callback reports each message's fate (0 = acknowledged by the broker,
 * negative = failed; the message is not retried by the link). When the
 * connection is lost, the messages still in the FIFO that carry a token fail
 * at once with the ones in flight, so an owner that sends them again (the
 * outbox) keeps its order on the next connection; messages without a token
 * stay queued for it, as do messages queued while disconnected.
 */
#ifndef DG_LINK_H
#define DG_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct dg_link_config {
    const char *name; /* for logs: "device", "clinic", "pump-1" */
    const char *url;  /* ssl://host:port */
    const char *client_id;
    const char *ca_file;   /* PEM trust store */
    const char *cert_file; /* PEM client certificate */
    const char *key_file;  /* PEM client private key */
    int keepalive_s;       /* 0 = 10 s */
    int max_inflight;      /* messages handed to Paho at once; 0 = 32 */
    size_t max_queued;     /* own FIFO bound; 0 = 100000 */
    /* Optional MQTT Will (QoS 1); will_topic NULL = none. */
    const char *will_topic;
    const void *will_payload;
    size_t will_len;
    int will_retained;
    /* 1: MQTT persistent session (clean session off) so QoS 1 messages for
       our subscriptions are queued by the broker while we are away. */
    int persistent_session;
};

typedef struct dg_link dg_link;

struct dg_link_callbacks {
    void *ctx;
    /* A message arrived on a subscribed topic. Pointers valid for the call. */
    void (*message)(void *ctx, dg_link *link, const char *topic, const uint8_t *payload, size_t len,
                    int retained);
    /* Connected (also after every automatic reconnect); subscriptions are
       being re-made. May be NULL. */
    void (*connected)(void *ctx, dg_link *link);
    /* Connection lost, with Paho's cause (may be NULL). May be NULL. */
    void (*disconnected)(void *ctx, dg_link *link, const char *cause);
    /* Fate of a publish: rc 0 = broker acknowledged, negative = failed. May be NULL. */
    void (*done)(void *ctx, dg_link *link, uint64_t token, int rc);
};

/*
 * Create the link and start connecting. Copies cfg (strings too). Returns 0
 * and *out, or a negative DG_E* code with a reason logged.
 */
int dg_link_open(dg_link **out, uv_loop_t *loop, const struct dg_link_config *cfg,
                 const struct dg_link_callbacks *cb);
/* Subscribe now (if connected) and on every reconnect. topic is copied. */
int dg_link_subscribe(dg_link *link, const char *topic, int qos);
/*
 * Queue a publish; topic and payload are copied. token is passed back to
 * done(). Returns 0, or -DG_EFULL when the FIFO is at max_queued.
 */
int dg_link_publish(dg_link *link, const char *topic, const void *payload, size_t len, int qos,
                    int retained, uint64_t token);
/*
 * Send now or never (permits): QoS 0, not retained, straight to Paho,
 * bypassing the FIFO, so nothing is kept or replayed. Returns 0 (done()
 * follows with the token once Paho has written it), -DG_ECLOSED when the
 * link is not connected (the message is dropped), -DG_ENOMEM, -DG_EMQTT.
 */
int dg_link_publish_now(dg_link *link, const char *topic, const void *payload, size_t len,
                        uint64_t token);
/* Connected right now? */
int dg_link_is_connected(const dg_link *link);
/*
 * During a message() callback: when that message reached this process
 * (monotonic ms, uv_hrtime() / 1e6, stamped on Paho's thread before any
 * queueing). 0 outside a message() callback.
 */
uint64_t dg_link_message_mono_ms(const dg_link *link);
/* MQTT clients this link retired after Paho lost a QoS 1 publish with a
   dying socket (link.c explains why; each stays allocated). */
unsigned dg_link_retired(const dg_link *link);
/* Messages queued or in flight. */
size_t dg_link_backlog(const dg_link *link);
/*
 * Disconnect (waiting up to timeout_ms for in-flight messages), then free the
 * link once its libuv handles have closed; on_closed (may be NULL) runs then,
 * on the loop. Queued messages not yet acknowledged are reported to done()
 * with -DG_ECLOSED. No callback other than done/on_closed runs after this call.
 */
void dg_link_close(dg_link *link, int timeout_ms, void (*on_closed)(void *arg), void *arg);
const char *dg_link_name(const dg_link *link);

#endif
