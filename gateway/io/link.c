/*
 * link.c — one MQTT connection: Paho MQTTAsync over mutual TLS, bridged into
 * a libuv loop (see link.h for the contract).
 *
 * Design
 * ------
 * Paho runs its own threads (one receive, one send, shared by every client
 * in the process). Its callbacks here do nothing but copy what they were
 * given into a `struct event`, append it to `link->events` under
 * `link->mu`, and uv_async_send(). The loop thread drains the whole list in
 * on_async() (libuv coalesces sends) and does everything else: state
 * changes, user callbacks, subscribing, publishing, reconnect timers.
 *
 * Publishing keeps our own FIFO (`queue`) and hands Paho at most
 * `max_inflight` messages; each handed message is a `struct msg` whose
 * address is the Paho response context, so the broker's PUBACK (onSuccess)
 * or a failure (onFailure) comes back as an event naming that message. The
 * next queued message is handed over from that event. This sidesteps Paho's
 * maxBufferedMessages limit and its quadratic scan of queued commands.
 *
 * Reconnect is ours, not Paho's: Paho's automaticReconnect does not cover a
 * first connect that fails, and mixing both would race two connect commands.
 * A lost connection or a failed connect schedules MQTTAsync_connect() again
 * on a uv timer (0.5 s doubling to 5 s, with jitter; reset on success). The
 * cap is short on purpose: the device broker is usually on the same box, and
 * while the link is down no pump can be paused, so a broker that comes back
 * must be reconnected within seconds, not after a minute of backoff.
 * Subscriptions are (re)made on every `connected` callback.
 *
 * Paho never sets TCP_NODELAY; with Nagle and delayed ACKs a small publish
 * can wait 40 ms. After each connect we set it on this process's TCP sockets
 * whose peer port is the broker's (found through /proc/self/fd; idempotent).
 *
 * A Paho defect, worked around here. In Paho 1.3.12 (Debian 12; still so in
 * 1.3.14), when the socket write of a QoS 1 PUBLISH fails inside Paho's send
 * thread (MQTTAsync_processCommand, SOCKET_ERROR), the message has already
 * been stored in the client's list of in-flight messages, sharing its topic
 * and payload buffers with the command; Paho then frees the command, buffers
 * included, and reports the publish failed with code -1. The stored copy
 * now points at freed memory: the next CONNACK of that client resends it
 * (MQTTAsync_completeConnection -> MQTTProtocol_retry: a heap-use-after-free
 * on Paho's receive thread), and cleaning or destroying the client frees
 * the buffers again (a double free). This is eclipse-paho/paho.mqtt.c#1621
 * and #1622 (open). It is not our usage: the gateway never touches Paho's
 * copies, and the race needs only a connection that dies under a publish.
 * So a client that reports a QoS 1 publish failed (any code), or loses its
 * connection with publishes in flight (the failure may be reported only
 * after the reconnect: TSan caught the simulator's client resending freed
 * memory that way), is "poisoned": at the next connect it is retired (never reconnected, so never
 * retried; never destroyed, so never freed twice; its callbacks removed) and a fresh client with
 * the same id and options takes its place. Its other in-flight messages are reported failed, so the
 * owner resends them (the gateway's outbox does). A retired client stays allocated until the
 * process exits: a few kilobytes per broken connection, counted (dg_link_retired()).
 * tests/integration/test_flap.py reproduces the defect without this.
 *
 * Lifetime: dg_link_close() disconnects, then MQTTAsync_destroy() on the loop
 * thread (after it Paho makes no more callbacks), reports every message not
 * acknowledged as -DG_ECLOSED, closes the libuv handles and frees the link.
 * The destroy comes when Paho confirms the disconnect, when the connection
 * is lost meanwhile, or at the latest DG_LINK_CLOSE_GRACE_MS after the
 * disconnect timeout: a close always ends, whatever the broker does.
 */
#include "link.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "log.h"

#define DG_LINK_RETRY_MIN_MS 500
#define DG_LINK_RETRY_MAX_MS 5000
/* How long after the disconnect timeout a close stops waiting for Paho. */
#define DG_LINK_CLOSE_GRACE_MS 2000

/* One outgoing message: in the FIFO, then in flight at Paho. */
struct msg {
    struct msg *next;
    dg_link *link;
    uint64_t token;
    int qos;
    int retained;
    size_t len;
    char *topic;
    uint8_t *payload;
};

enum event_kind {
    EV_CONNECTED,
    EV_LOST,
    EV_MESSAGE,
    EV_SENT,
    EV_SEND_FAILED,
    EV_CONNECT_FAILED,
    EV_DISCONNECTED,
    EV_SUBSCRIBED,
    EV_SUBSCRIBE_FAILED
};

struct event {
    struct event *next;
    enum event_kind kind;
    struct msg *msg; /* EV_SENT, EV_SEND_FAILED */
    int code;        /* Paho return code for failures */
    int retained;
    size_t len;
    char *topic; /* EV_MESSAGE */
    uint8_t *payload;
    uint64_t recv_mono_ms; /* EV_MESSAGE: when Paho handed it over (uv_hrtime) */
    char text[160];        /* cause / failure message */
};

struct sub {
    struct sub *next;
    dg_link *link;
    char *topic;
    int qos;
};

/* A client retired after Paho's defect (see above): kept, never destroyed. */
struct retired {
    struct retired *next;
    MQTTAsync client;
};

struct dg_link {
    uv_loop_t *loop;
    MQTTAsync client;
    int poisoned;            /* client must be retired before it connects again */
    struct retired *retired; /* poisoned clients, never destroyed */
    unsigned n_retired;
    struct dg_link_callbacks cb;

    /* Copied configuration (owned). */
    char *name, *url, *client_id, *ca_file, *cert_file, *key_file, *will_topic;
    uint8_t *will_payload;
    size_t will_len;
    int will_retained;
    int keepalive_s;
    int max_inflight;
    size_t max_queued;
    int persistent_session;
    char broker_host[256];
    int broker_port;

    /* Cross-thread event list: the only state Paho's threads touch. */
    pthread_mutex_t mu;
    struct event *events, *events_tail;
    uv_async_t async;
    uv_timer_t retry;

    /* Loop-thread state. */
    int connected;
    int down_reported; /* disconnected() already said the link is down */
    int closing;
    int destroyed;
    int retry_delay_ms;
    struct sub *subs;
    struct msg *queue, *queue_tail; /* not yet handed to Paho */
    size_t queued;
    struct msg *inflight; /* handed to Paho, waiting for PUBACK (unordered list) */
    int n_inflight;
    int handles_open;
    void (*on_closed)(void *);
    void *on_closed_arg;
    uint64_t cur_recv_mono_ms; /* receipt time of the message being delivered */
};

/* ------------------------------------------------------------ helpers */

static void msg_free(struct msg *m)
{
    if (!m) return;
    dg_free(m->topic);
    dg_free(m->payload);
    dg_free(m);
}

static void event_free(struct event *e)
{
    dg_free(e->topic);
    dg_free(e->payload);
    dg_free(e);
}

static char *dup_or_null(const char *s)
{
    return s ? dg_strdup(s) : NULL;
}

/* Called on Paho's threads (and the loop). Never fails loudly: an event that
   cannot be allocated is logged; a lost PUBACK then leaves a message in
   flight until close, which reports it as failed. */
static void post(dg_link *l, struct event *e)
{
    pthread_mutex_lock(&l->mu);
    e->next = NULL;
    if (l->events_tail)
        l->events_tail->next = e;
    else
        l->events = e;
    l->events_tail = e;
    pthread_mutex_unlock(&l->mu);
    uv_async_send(&l->async);
}

static struct event *event_new(enum event_kind kind)
{
    struct event *e = dg_calloc(1, sizeof *e);
    if (!e)
        DG_ERROR("link", "msg=\"out of memory for an MQTT event\" kind=%d", (int)kind);
    else
        e->kind = kind;
    return e;
}

static void set_text(struct event *e, const char *s)
{
    snprintf(e->text, sizeof e->text, "%s", s ? s : "");
}

/* Parse "ssl://host:port" into broker_host/broker_port for TCP_NODELAY. */
static void parse_url(dg_link *l)
{
    const char *p = strstr(l->url, "://");
    p = p ? p + 3 : l->url;
    const char *colon = strrchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    if (n >= sizeof l->broker_host) n = sizeof l->broker_host - 1;
    memcpy(l->broker_host, p, n);
    l->broker_host[n] = '\0';
    l->broker_port = colon ? atoi(colon + 1) : 8883;
}

/* The peer's TCP port of a socket address, or -1. */
static int peer_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return -1;
}

/*
 * Set TCP_NODELAY on every TCP socket of this process whose peer port is the
 * broker's. Matching on the port alone needs no name resolution (a DNS
 * look-up would block the loop); the only connections this process makes to
 * that port are its MQTT links, and the option is harmless and idempotent.
 */
static void set_nodelay(dg_link *l)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *de;
    int set = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        int fd = atoi(de->d_name);
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) continue;
        int type = 0;
        socklen_t tlen = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM) continue;
        if (peer_port(&peer) != l->broker_port) continue;
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) set++;
    }
    closedir(d);
    DG_DEBUG("link", "link=%s msg=\"TCP_NODELAY set\" sockets=%d", l->name, set);
}

/* ------------------------------------------------------------ Paho callbacks (Paho threads) */

static void cb_connected(void *context, char *cause)
{
    dg_link *l = context;
    struct event *e = event_new(EV_CONNECTED);
    if (!e) return;
    set_text(e, cause);
    post(l, e);
}

static void cb_lost(void *context, char *cause)
{
    dg_link *l = context;
    struct event *e = event_new(EV_LOST);
    if (!e) return;
    set_text(e, cause ? cause : "connection lost");
    post(l, e);
}

static int cb_message(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
    dg_link *l = context;
    struct event *e = event_new(EV_MESSAGE);
    if (e) {
        size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
        size_t plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
        e->topic = dg_malloc(tlen + 1);
        e->payload = dg_malloc(plen ? plen : 1);
        if (!e->topic || !e->payload) {
            DG_ERROR("link", "link=%s msg=\"out of memory copying a message\" bytes=%zu", l->name,
                     plen);
            event_free(e);
        } else {
            memcpy(e->topic, topic, tlen);
            e->topic[tlen] = '\0';
            if (plen) memcpy(e->payload, m->payload, plen);
            e->len = plen;
            e->retained = m->retained;
            /* Stamped here, on Paho's thread, so time spent in our queue
               and loop never counts as transit time (uv_hrtime is
               thread-safe: CLOCK_MONOTONIC). */
            e->recv_mono_ms = uv_hrtime() / 1000000u;
            post(l, e);
        }
    }
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

static void cb_sent(void *context, MQTTAsync_successData *resp)
{
    (void)resp;
    struct msg *m = context;
    struct event *e = event_new(EV_SENT);
    if (!e) return;
    e->msg = m;
    post(m->link, e);
}

static void cb_send_failed(void *context, MQTTAsync_failureData *resp)
{
    struct msg *m = context;
    struct event *e = event_new(EV_SEND_FAILED);
    if (!e) return;
    e->msg = m;
    e->code = resp ? resp->code : MQTTASYNC_FAILURE;
    set_text(e, resp && resp->message ? resp->message : MQTTAsync_strerror(e->code));
    post(m->link, e);
}

static void cb_connect_failed(void *context, MQTTAsync_failureData *resp)
{
    dg_link *l = context;
    struct event *e = event_new(EV_CONNECT_FAILED);
    if (!e) return;
    e->code = resp ? resp->code : MQTTASYNC_FAILURE;
    set_text(e, resp && resp->message ? resp->message : MQTTAsync_strerror(e->code));
    post(l, e);
}

static void cb_subscribed(void *context, MQTTAsync_successData *resp)
{
    struct sub *sb = context;
    struct event *e = event_new(EV_SUBSCRIBED);
    if (!e) return;
    /* Paho reports a refused subscription (SUBACK 0x80) as success with
       that granted QoS. */
    e->code = resp ? resp->alt.qos : 0;
    set_text(e, sb->topic);
    post(sb->link, e);
}

static void cb_subscribe_failed(void *context, MQTTAsync_failureData *resp)
{
    struct sub *sb = context;
    struct event *e = event_new(EV_SUBSCRIBE_FAILED);
    if (!e) return;
    e->code = resp ? resp->code : MQTTASYNC_FAILURE;
    set_text(e, sb->topic);
    post(sb->link, e);
}

static void cb_disconnected(void *context, MQTTAsync_successData *resp)
{
    (void)resp;
    dg_link *l = context;
    struct event *e = event_new(EV_DISCONNECTED);
    if (e) post(l, e);
}

static void cb_disconnect_failed(void *context, MQTTAsync_failureData *resp)
{
    (void)resp;
    cb_disconnected(context, NULL);
}

/* ------------------------------------------------------------ loop thread */

static void pump_queue(dg_link *l);
static void finish_close(dg_link *l);
static void report(dg_link *l, struct msg *m, int rc);

static int create_client(dg_link *l)
{
    MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
    co.sendWhileDisconnected = 0;
    co.maxBufferedMessages = l->max_inflight * 2 + 16;
    int rc = MQTTAsync_createWithOptions(&l->client, l->url, l->client_id,
                                         MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        DG_ERROR("link", "link=%s msg=\"cannot create MQTT client\" url=%s code=%d error=\"%s\"",
                 l->name, l->url, rc, MQTTAsync_strerror(rc));
        l->client = NULL;
        return -DG_EMQTT;
    }
    MQTTAsync_setCallbacks(l->client, l, cb_lost, cb_message, NULL);
    MQTTAsync_setConnected(l->client, l, cb_connected);
    return 0;
}

/* Put a poisoned client aside for good (top of file) and make a fresh one.
   Its in-flight messages will never be acknowledged: they fail now, so the
   owner sends them again on the new client. */
static int retire_client(dg_link *l)
{
    struct retired *r = dg_calloc(1, sizeof *r);
    if (!r) return -DG_ENOMEM;
    MQTTAsync old = l->client;
    /* Disconnected: allowed, and no lost/message/connected callback can
       reach the link from it any more. */
    MQTTAsync_setCallbacks(old, NULL, NULL, NULL, NULL);
    MQTTAsync_setConnected(old, NULL, NULL);
    r->client = old;
    r->next = l->retired;
    l->retired = r;
    l->n_retired++;
    while (l->inflight) {
        struct msg *m = l->inflight;
        l->inflight = m->next;
        l->n_inflight--;
        report(l, m, -DG_EMQTT);
        msg_free(m);
    }
    l->poisoned = 0;
    int rc = create_client(l);
    DG_WARN("link", "link=%s msg=\"MQTT client retired, a fresh one connects\" retired=%u", l->name,
            l->n_retired);
    if (rc != 0) {
        /* Keep the old handle so close has one to destroy; try again later. */
        l->client = old;
        l->retired = r->next;
        l->n_retired--;
        dg_free(r);
        l->poisoned = 1;
    }
    return rc;
}

static int start_connect(dg_link *l)
{
    if (l->poisoned) {
        int rc = retire_client(l);
        if (rc != 0) return rc;
    }
    MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
    ssl.trustStore = l->ca_file;
    ssl.keyStore = l->cert_file;
    ssl.privateKey = l->key_file;
    ssl.enableServerCertAuth = 1;
    ssl.verify = 1; /* host-name check: the initializer leaves it off */
    ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
    ssl.disableDefaultTrustStore = 1; /* trust only our CA */

    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer;
    opts.keepAliveInterval = l->keepalive_s;
    opts.cleansession = l->persistent_session ? 0 : 1;
    opts.maxInflight = l->max_inflight;
    opts.connectTimeout = 10;
    opts.ssl = &ssl;
    opts.automaticReconnect = 0; /* see the design comment */
    opts.onFailure = cb_connect_failed;
    opts.context = l;
    if (l->will_topic) {
        will.topicName = l->will_topic;
        will.message = NULL;
        will.payload.data = l->will_payload;
        will.payload.len = (int)l->will_len;
        will.qos = 1;
        will.retained = l->will_retained;
        opts.will = &will;
    }
    int rc = MQTTAsync_connect(l->client, &opts);
    if (rc != MQTTASYNC_SUCCESS) {
        DG_ERROR("link", "link=%s msg=\"connect could not start\" url=%s code=%d error=\"%s\"",
                 l->name, l->url, rc, MQTTAsync_strerror(rc));
        return -DG_EMQTT;
    }
    return 0;
}

static void on_retry(uv_timer_t *t)
{
    dg_link *l = t->data;
    if (l->closing || l->connected) return;
    DG_INFO("link", "link=%s msg=\"connecting\" url=%s", l->name, l->url);
    if (start_connect(l) != 0) {
        /* Could not even start: try again later. */
        uv_timer_start(&l->retry, on_retry, (uint64_t)l->retry_delay_ms, 0);
    }
}

static void schedule_retry(dg_link *l)
{
    int base = l->retry_delay_ms;
    int jitter = base / 4 > 0 ? rand() % (base / 4 + 1) : 0;
    uv_timer_start(&l->retry, on_retry, (uint64_t)(base + jitter), 0);
    l->retry_delay_ms = base * 2 > DG_LINK_RETRY_MAX_MS ? DG_LINK_RETRY_MAX_MS : base * 2;
}

static void subscribe_one(dg_link *l, struct sub *sb)
{
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = cb_subscribed;
    ro.onFailure = cb_subscribe_failed;
    ro.context = sb;
    int rc = MQTTAsync_subscribe(l->client, sb->topic, sb->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS)
        DG_ERROR("link", "link=%s msg=\"subscribe failed\" topic=%s code=%d error=\"%s\"", l->name,
                 sb->topic, rc, MQTTAsync_strerror(rc));
}

static void resubscribe(dg_link *l)
{
    for (struct sub *sb = l->subs; sb; sb = sb->next)
        subscribe_one(l, sb);
}

static void inflight_remove(dg_link *l, struct msg *m)
{
    for (struct msg **pp = &l->inflight; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            l->n_inflight--;
            return;
        }
    }
}

static void report(dg_link *l, struct msg *m, int rc)
{
    if (l->cb.done) l->cb.done(l->cb.ctx, l, m->token, rc);
}

/* The connection is lost: every queued message with a token fails now
   (-DG_EMQTT), so its owner, who keeps it (the outbox), sends it again after
   the reconnect in its own order, behind nothing newer. Kept, the FIFO would
   go out first on the new connection, ahead of the older messages that were
   in flight at Paho and are sent again (seen in the flap test: audit records
   542..571 arriving after 572..588). Messages without a token have no owner
   to send them again: they stay queued. */
/* Hand this client nothing more; it is retired before the next connect
   (top of file). */
static void poison(dg_link *l, const char *why)
{
    if (l->poisoned) return;
    l->poisoned = 1;
    DG_WARN("link",
            "link=%s msg=\"MQTT client poisoned, replaced at the next connect\" why=\"%s\" "
            "defect=eclipse-paho/paho.mqtt.c#1621",
            l->name, why);
}

static void fail_queued(dg_link *l)
{
    struct msg *keep = NULL, **tail = &keep;
    struct msg *m = l->queue;
    l->queue = l->queue_tail = NULL;
    l->queued = 0;
    while (m) {
        struct msg *next = m->next;
        m->next = NULL;
        if (m->token) {
            report(l, m, -DG_EMQTT);
            msg_free(m);
        } else {
            *tail = m;
            tail = &m->next;
            l->queue_tail = m;
            l->queued++;
        }
        m = next;
    }
    l->queue = keep;
}

static void handle(dg_link *l, struct event *e)
{
    char q[200];
    switch (e->kind) {
    case EV_CONNECTED:
        if (l->closing) break;
        l->connected = 1;
        l->down_reported = 0;
        l->retry_delay_ms = DG_LINK_RETRY_MIN_MS;
        DG_INFO("link", "link=%s msg=\"connected\" url=%s", l->name, l->url);
        set_nodelay(l);
        resubscribe(l);
        if (l->cb.connected) l->cb.connected(l->cb.ctx, l);
        pump_queue(l);
        break;
    case EV_LOST:
        l->connected = 0;
        if (l->closing) {
            /* Lost while disconnecting: Paho may not call the disconnect
               callbacks any more; nothing is left to wait for. */
            if (!l->destroyed) finish_close(l);
        } else {
            DG_WARN("link", "link=%s msg=\"connection lost; reconnecting\" cause=%s", l->name,
                    dg_log_q(q, sizeof q, e->text));
            fail_queued(l);
            /* A publish handed to Paho and neither acknowledged nor failed
               yet may be the one Paho freed (top of file): its failure can
               come after the reconnect, too late to retire the client. */
            if (l->n_inflight > 0) poison(l, "publishes in flight when the connection was lost");
            if (l->cb.disconnected) l->cb.disconnected(l->cb.ctx, l, e->text);
            l->down_reported = 1;
            schedule_retry(l);
        }
        break;
    case EV_CONNECT_FAILED:
        if (l->closing) break;
        DG_WARN("link",
                "link=%s msg=\"connect failed; retrying\" url=%s code=%d error=%s retry_ms=%d",
                l->name, l->url, e->code, dg_log_q(q, sizeof q, e->text), l->retry_delay_ms);
        /* Tell the owner once per outage, not once per attempt. */
        if (l->cb.disconnected && !l->down_reported) l->cb.disconnected(l->cb.ctx, l, e->text);
        l->down_reported = 1;
        schedule_retry(l);
        break;
    case EV_MESSAGE:
        if (!l->closing && l->cb.message) {
            l->cur_recv_mono_ms = e->recv_mono_ms;
            l->cb.message(l->cb.ctx, l, e->topic, e->payload, e->len, e->retained);
            l->cur_recv_mono_ms = 0;
        }
        break;
    case EV_SENT:
        inflight_remove(l, e->msg);
        report(l, e->msg, 0);
        msg_free(e->msg);
        pump_queue(l);
        break;
    case EV_SEND_FAILED:
        inflight_remove(l, e->msg);
        DG_WARN("link", "link=%s msg=\"publish failed\" topic=%s code=%d error=%s", l->name,
                e->msg->topic, e->code, dg_log_q(q, sizeof q, e->text));
        /* Any QoS 1 publish that failed may have been freed by Paho
           (top of file), whatever the code says. */
        if (e->msg->qos > 0 && !l->closing) poison(l, "a QoS 1 publish failed");
        report(l, e->msg, -DG_EMQTT);
        msg_free(e->msg);
        pump_queue(l);
        break;
    case EV_DISCONNECTED:
        if (l->closing && !l->destroyed) finish_close(l);
        break;
    case EV_SUBSCRIBED:
        if (e->code == 0x80)
            DG_ERROR("link", "link=%s msg=\"subscription refused by the broker (ACL)\" topic=%s",
                     l->name, e->text);
        else
            DG_INFO("link", "link=%s msg=\"subscribed\" topic=%s qos=%d", l->name, e->text,
                    e->code);
        break;
    case EV_SUBSCRIBE_FAILED:
        DG_ERROR("link", "link=%s msg=\"subscribe failed\" topic=%s code=%d", l->name, e->text,
                 e->code);
        break;
    }
}

static void on_async(uv_async_t *a)
{
    dg_link *l = a->data;
    pthread_mutex_lock(&l->mu);
    struct event *e = l->events;
    l->events = l->events_tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (e) {
        struct event *next = e->next;
        /* After finish_close() (called from handle() below) the in-flight
           messages were reported and freed: later events name none. */
        if (!l->destroyed) handle(l, e);
        event_free(e);
        e = next;
    }
}

/* Hand queued messages to Paho while connected and under max_inflight. */
static void pump_queue(dg_link *l)
{
    while (l->connected && !l->closing && !l->poisoned && l->queue &&
           l->n_inflight < l->max_inflight) {
        struct msg *m = l->queue;
        MQTTAsync_message pm = MQTTAsync_message_initializer;
        pm.payload = m->payload;
        pm.payloadlen = (int)m->len;
        pm.qos = m->qos;
        pm.retained = m->retained;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess = cb_sent;
        ro.onFailure = cb_send_failed;
        ro.context = m;
        /* Take it off the FIFO before handing it over: a QoS 0 send may
           call back before sendMessage returns. */
        l->queue = m->next;
        if (!l->queue) l->queue_tail = NULL;
        l->queued--;
        m->next = l->inflight;
        l->inflight = m;
        l->n_inflight++;
        int rc = MQTTAsync_sendMessage(l->client, m->topic, &pm, &ro);
        if (rc == MQTTASYNC_SUCCESS) continue;
        inflight_remove(l, m);
        if (rc == MQTTASYNC_DISCONNECTED || rc == MQTTASYNC_MAX_BUFFERED_MESSAGES) {
            /* Put it back at the head; retried on the next connect / PUBACK. */
            m->next = l->queue;
            l->queue = m;
            if (!l->queue_tail) l->queue_tail = m;
            l->queued++;
            if (rc == MQTTASYNC_DISCONNECTED) l->connected = 0;
            return;
        }
        DG_ERROR("link", "link=%s msg=\"publish refused\" topic=%s code=%d error=\"%s\"", l->name,
                 m->topic, rc, MQTTAsync_strerror(rc));
        report(l, m, -DG_EMQTT);
        msg_free(m);
    }
}

/* ------------------------------------------------------------ public API */

static void link_free(dg_link *l)
{
    /* The retired clients themselves are deliberately leaked (see the top
       of the file); only our list records go. */
    while (l->retired) {
        struct retired *r = l->retired;
        l->retired = r->next;
        dg_free(r);
    }
    dg_free(l->name);
    dg_free(l->url);
    dg_free(l->client_id);
    dg_free(l->ca_file);
    dg_free(l->cert_file);
    dg_free(l->key_file);
    dg_free(l->will_topic);
    dg_free(l->will_payload);
    while (l->subs) {
        struct sub *s = l->subs;
        l->subs = s->next;
        dg_free(s->topic);
        dg_free(s);
    }
    pthread_mutex_destroy(&l->mu);
    dg_free(l);
}

int dg_link_open(dg_link **out, uv_loop_t *loop, const struct dg_link_config *cfg,
                 const struct dg_link_callbacks *cb)
{
    *out = NULL;
    if (!cfg->url || !cfg->client_id || !cfg->ca_file || !cfg->cert_file || !cfg->key_file)
        return -DG_EINVAL;
    dg_link *l = dg_calloc(1, sizeof *l);
    if (!l) return -DG_ENOMEM;
    pthread_mutex_init(&l->mu, NULL);
    l->loop = loop;
    l->cb = *cb;
    l->name = dg_strdup(cfg->name ? cfg->name : cfg->client_id);
    l->url = dg_strdup(cfg->url);
    l->client_id = dg_strdup(cfg->client_id);
    l->ca_file = dg_strdup(cfg->ca_file);
    l->cert_file = dg_strdup(cfg->cert_file);
    l->key_file = dg_strdup(cfg->key_file);
    l->will_topic = dup_or_null(cfg->will_topic);
    l->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 10;
    l->max_inflight = cfg->max_inflight > 0 ? cfg->max_inflight : 32;
    l->max_queued = cfg->max_queued > 0 ? cfg->max_queued : 100000;
    l->persistent_session = cfg->persistent_session;
    l->retry_delay_ms = DG_LINK_RETRY_MIN_MS;
    if (!l->name || !l->url || !l->client_id || !l->ca_file || !l->cert_file || !l->key_file ||
        (cfg->will_topic && !l->will_topic))
        goto fail_nomem;
    if (cfg->will_topic && cfg->will_len) {
        l->will_payload = dg_malloc(cfg->will_len);
        if (!l->will_payload) goto fail_nomem;
        memcpy(l->will_payload, cfg->will_payload, cfg->will_len);
        l->will_len = cfg->will_len;
    }
    l->will_retained = cfg->will_retained;
    parse_url(l);

    if (create_client(l) != 0) {
        link_free(l);
        return -DG_EMQTT;
    }

    uv_async_init(loop, &l->async, on_async);
    l->async.data = l;
    uv_timer_init(loop, &l->retry);
    l->retry.data = l;
    l->handles_open = 2;

    DG_INFO("link", "link=%s msg=\"connecting\" url=%s client_id=%s", l->name, l->url,
            l->client_id);
    if (start_connect(l) != 0) schedule_retry(l);
    *out = l;
    return 0;

fail_nomem:
    link_free(l);
    return -DG_ENOMEM;
}

int dg_link_subscribe(dg_link *l, const char *topic, int qos)
{
    struct sub *s = dg_calloc(1, sizeof *s);
    if (!s) return -DG_ENOMEM;
    s->topic = dg_strdup(topic);
    if (!s->topic) {
        dg_free(s);
        return -DG_ENOMEM;
    }
    s->link = l;
    s->qos = qos;
    s->next = l->subs;
    l->subs = s;
    if (l->connected) subscribe_one(l, s);
    return 0;
}

int dg_link_publish(dg_link *l, const char *topic, const void *payload, size_t len, int qos,
                    int retained, uint64_t token)
{
    if (l->closing) return -DG_ECLOSED;
    if (l->queued >= l->max_queued) return -DG_EFULL;
    struct msg *m = dg_calloc(1, sizeof *m);
    if (!m) return -DG_ENOMEM;
    m->link = l;
    m->token = token;
    m->qos = qos;
    m->retained = retained;
    m->len = len;
    m->topic = dg_strdup(topic);
    m->payload = dg_malloc(len ? len : 1);
    if (!m->topic || !m->payload) {
        msg_free(m);
        return -DG_ENOMEM;
    }
    if (len) memcpy(m->payload, payload, len);
    if (l->queue_tail)
        l->queue_tail->next = m;
    else
        l->queue = m;
    l->queue_tail = m;
    l->queued++;
    pump_queue(l);
    return 0;
}

int dg_link_publish_now(dg_link *l, const char *topic, const void *payload, size_t len,
                        uint64_t token)
{
    if (l->closing) return -DG_ECLOSED;
    if (!l->connected) return -DG_ECLOSED;
    struct msg *m = dg_calloc(1, sizeof *m);
    if (!m) return -DG_ENOMEM;
    m->link = l;
    m->token = token;
    m->qos = 0;
    m->len = len;
    m->topic = dg_strdup(topic);
    m->payload = dg_malloc(len ? len : 1);
    if (!m->topic || !m->payload) {
        msg_free(m);
        return -DG_ENOMEM;
    }
    if (len) memcpy(m->payload, payload, len);
    MQTTAsync_message pm = MQTTAsync_message_initializer;
    pm.payload = m->payload;
    pm.payloadlen = (int)m->len;
    pm.qos = 0;
    pm.retained = 0;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onSuccess = cb_sent;
    ro.onFailure = cb_send_failed;
    ro.context = m;
    /* In the in-flight list before Paho has it: a QoS 0 send may call back
       before sendMessage returns. Never put back on the FIFO. */
    m->next = l->inflight;
    l->inflight = m;
    l->n_inflight++;
    int rc = MQTTAsync_sendMessage(l->client, m->topic, &pm, &ro);
    if (rc == MQTTASYNC_SUCCESS) return 0;
    inflight_remove(l, m);
    msg_free(m);
    if (rc == MQTTASYNC_DISCONNECTED) {
        l->connected = 0;
        return -DG_ECLOSED;
    }
    return -DG_EMQTT;
}

int dg_link_is_connected(const dg_link *l)
{
    return l->connected;
}

unsigned dg_link_retired(const dg_link *l)
{
    return l->n_retired;
}

uint64_t dg_link_message_mono_ms(const dg_link *l)
{
    return l->cur_recv_mono_ms;
}

size_t dg_link_backlog(const dg_link *l)
{
    return l->queued + (size_t)l->n_inflight;
}

const char *dg_link_name(const dg_link *l)
{
    return l->name;
}

static void on_handle_closed(uv_handle_t *h)
{
    dg_link *l = h->data;
    if (--l->handles_open > 0) return;
    void (*cb)(void *) = l->on_closed;
    void *arg = l->on_closed_arg;
    link_free(l);
    if (cb) cb(arg);
}

static void finish_close(dg_link *l)
{
    l->destroyed = 1;
    l->connected = 0;
    /* After destroy Paho makes no further callbacks for this client. */
    MQTTAsync_destroy(&l->client);
    /* Events posted before destroy (PUBACKs, messages) still count. */
    on_async(&l->async);
    while (l->inflight) {
        struct msg *m = l->inflight;
        l->inflight = m->next;
        l->n_inflight--;
        report(l, m, -DG_ECLOSED);
        msg_free(m);
    }
    uv_close((uv_handle_t *)&l->async, on_handle_closed);
    uv_close((uv_handle_t *)&l->retry, on_handle_closed);
}

static void on_close_timeout(uv_timer_t *t)
{
    dg_link *l = t->data;
    if (l->destroyed) return;
    DG_WARN("link", "link=%s msg=\"disconnect not confirmed; closing anyway\"", l->name);
    finish_close(l);
}

void dg_link_close(dg_link *l, int timeout_ms, void (*on_closed)(void *arg), void *arg)
{
    if (l->closing) return;
    l->closing = 1;
    l->on_closed = on_closed;
    l->on_closed_arg = arg;
    uv_timer_stop(&l->retry);
    /* Messages never handed to Paho fail now; in-flight ones get
       timeout_ms to be acknowledged during the disconnect. */
    while (l->queue) {
        struct msg *m = l->queue;
        l->queue = m->next;
        l->queued--;
        report(l, m, -DG_ECLOSED);
        msg_free(m);
    }
    l->queue_tail = NULL;
    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = timeout_ms;
    d.onSuccess = cb_disconnected;
    d.onFailure = cb_disconnect_failed;
    d.context = l;
    int rc = MQTTAsync_disconnect(l->client, &d);
    if (rc != MQTTASYNC_SUCCESS) {
        /* Not connected: nothing to wait for. */
        finish_close(l);
        return;
    }
    /* A close always ends: if Paho reports neither the disconnect nor the
       loss of the connection, give up waiting a little after its timeout. */
    uv_timer_start(&l->retry, on_close_timeout, (uint64_t)timeout_ms + DG_LINK_CLOSE_GRACE_MS, 0);
}
