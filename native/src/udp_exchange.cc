// udpExchanger(device, onReplies) -> { data, lengths, fds, fromPeer, slotBytes, query, peer(),
// open(), finish(), close() }: the sockets of upstream UDP exchanges, made, sent on, read and
// closed by the helper, one JS call per batch of replies (issue 13).
//
// Every exchange still has a socket of its own on a port the kernel picks at random (RFC 5452
// section 9.2), as Unbound does: a pool of long-lived sockets would make the port guessable
// for as long as a socket lives. What goes away is Node's part: adopting each fd into dgram
// (a UDPWrap, a uv_udp_t, getsockname and fstat calls), turning libuv's SO_REUSEADDR off
// again, one JS event per datagram. Here:
//
//   peer(family, address, port) -> id
//            where queries go, parsed and kept once (the same id for the same peer again),
//            so that open() takes two numbers: no string to convert, no address to parse and
//            no Buffer to inspect per query. TypeError for a bad family, address or port.
//   query    a Buffer of kQueryBytes: open() sends its first bytes.
//   open(peer, length) -> fd
//            socket(SOCK_NONBLOCK|SOCK_CLOEXEC) -> SO_BINDTODEVICE (the device given at
//            creation, if any) -> sendto(peer) of query[0, length). No bind(): sendto() binds
//            an unbound socket to a random ephemeral port, the same choice as bind() to port 0
//            (inet_autobind), one system call fewer. No SO_REUSEADDR: with it on, any local
//            process of any user could bind the same port with SO_REUSEADDR too and take our
//            replies (udp_lib_lport_inuse() checks sk_reuse on both sockets, not the owner),
//            and the random port would protect nothing. libuv turns it on for every UDP fd
//            Node adopts, one more reason these never reach dgram. The fd joins the
//            exchanger's epoll set. Throws a SystemError (syscall socket, setsockopt,
//            epoll_ctl or sendto) and closes the fd on failure.
//   finish(fd)
//            closes the exchange's socket (which leaves the epoll set). Only fds that open()
//            returned and that are not finished yet: anything else is a TypeError, so a bug
//            can never close a descriptor that is not ours.
//   onReplies(count)
//            once per batch of datagrams that reached exchange sockets: for i < count,
//            datagram i is data[i*slotBytes, +lengths[i]), received on fds[i], and
//            fromPeer[i] is 1 when its source address and port are those the query went to.
//            The datagram's bytes are rewritten by the next batch: copy what is kept.
//            Whether it answers the query (ID, question: RFC 5452 section 3) is TypeScript's
//            (src/net/udp-upstream.ts hands it to src/upstream/udp.ts).
//   close()  closes every open exchange socket and the epoll set; idempotent. Collecting the
//            handle does the same.
//
// peer, open and finish are called once or twice per cache miss, so they are PollMethod
// functions (polled_fd.h): they find the exchanger in their own data, not by unwrapping
// `this`, and may be called without it.
//
// The epoll set is read on Node's loop through one uv_poll handle (polled_fd.h), unreferenced:
// an idle exchanger does not keep the process alive (each exchange's timeout timer does).
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "polled_fd.h"

namespace vrf {

namespace {

// A UDP payload is at most 65,507 bytes over IPv4 (65,527 over IPv6 without jumbograms): a slot
// holds any datagram whole, whatever EDNS size we advertised (a reply bigger than that is
// still the server's reply, and a forgery must be read to be counted). Only the bytes written
// become resident.
constexpr int kSlots = 32;
constexpr size_t kSlotBytes = 65536;
constexpr int kMaxBatchesPerWakeup = 4;
// The largest query open() sends: any UDP payload (only the bytes written become resident).
constexpr size_t kQueryBytes = 65507;

constexpr napi_type_tag kHandleTag = {0x7564706578636867ull, 0x7672662d7265736full};

struct Peer {
  struct sockaddr_storage addr;
  socklen_t len;
  std::string address;  // as given, for errors
  int port;
};

bool SamePeer(const Peer& p, const struct sockaddr_storage& from, socklen_t len) {
  if (from.ss_family != p.addr.ss_family) return false;
  if (from.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const struct sockaddr_in*>(&p.addr);
    auto* b = reinterpret_cast<const struct sockaddr_in*>(&from);
    return len >= sizeof *b && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  auto* a = reinterpret_cast<const struct sockaddr_in6*>(&p.addr);
  auto* b = reinterpret_cast<const struct sockaddr_in6*>(&from);
  return len >= sizeof *b && a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

class UdpExchanger : public PolledFd {
 public:
  std::optional<std::string> device;
  std::vector<Peer> peers;
  // By fd: the peer its query went to while it is an open exchange, else -1. A vector, not a
  // hash map: fds are small numbers, and a map's node was a malloc and a free per query.
  std::vector<int32_t> peerOf;
  size_t openCount = 0;
  unsigned char* data = nullptr;
  int32_t* lengths = nullptr;
  int32_t* fds = nullptr;
  uint8_t* fromPeer = nullptr;
  unsigned char* query = nullptr;
  Napi::Reference<Napi::Buffer<unsigned char>> dataRef;
  Napi::Reference<Napi::Int32Array> lengthsRef;
  Napi::Reference<Napi::Int32Array> fdsRef;
  Napi::Reference<Napi::Uint8Array> fromPeerRef;
  Napi::Reference<Napi::Buffer<unsigned char>> queryRef;

  ~UdpExchanger() override { CloseExchanges(); }

  const Peer* OpenPeer(int sock) const {
    if (sock < 0 || static_cast<size_t>(sock) >= peerOf.size() || peerOf[sock] < 0) return nullptr;
    return &peers[peerOf[sock]];
  }

  void Opened(int sock, int32_t peer) {
    if (static_cast<size_t>(sock) >= peerOf.size()) peerOf.resize(static_cast<size_t>(sock) + 1, -1);
    peerOf[sock] = peer;
    openCount++;
  }

  void Finished(int sock) {
    peerOf[sock] = -1;
    openCount--;
    close(sock);  // Linux releases the descriptor even when close() fails: nothing to retry
  }

  void CloseExchanges() {
    for (size_t sock = 0; sock < peerOf.size() && openCount > 0; sock++) {
      if (peerOf[sock] >= 0) Finished(static_cast<int>(sock));
    }
  }

  void CloseOwned() override { CloseExchanges(); }

  void ReleaseJs() override {
    dataRef.Reset();
    lengthsRef.Reset();
    fdsRef.Reset();
    fromPeerRef.Reset();
    queryRef.Reset();
    data = nullptr;
    lengths = nullptr;
    fds = nullptr;
    fromPeer = nullptr;
    query = nullptr;
  }

 protected:
  void Readable(int status) override {
    const bool stopped = status < 0;
    struct epoll_event events[kSlots];
    for (int round = 0; round < kMaxBatchesPerWakeup && !closing; round++) {
      int ready = epoll_wait(fd, events, kSlots, 0);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      int n = 0;
      for (int i = 0; i < ready; i++) {
        const int sock = events[i].data.fd;
        const Peer* peer = OpenPeer(sock);
        if (peer == nullptr) continue;  // finished since epoll_wait (cannot happen; harmless)
        struct sockaddr_storage from;
        socklen_t fromLen = sizeof from;
        // One datagram per socket and round: epoll is level-triggered, a second one queued on
        // the same socket is reported again by the next epoll_wait.
        ssize_t got = recvfrom(sock, data + static_cast<size_t>(n) * kSlotBytes, kSlotBytes, MSG_DONTWAIT,
                               reinterpret_cast<struct sockaddr*>(&from), &fromLen);
        // EAGAIN: nothing after all. Other errors cannot be queued on an unconnected socket
        // without IP_RECVERR; the exchange's timeout ends it either way.
        if (got < 0) continue;
        lengths[n] = static_cast<int32_t>(got);
        fds[n] = sock;
        fromPeer[n] = SamePeer(*peer, from, fromLen) ? 1 : 0;
        n++;
      }
      if (n > 0) Call({Napi::Number::New(Napi::Env(env), n)});
      if (ready < kSlots) break;
    }
    if (stopped && !closing) Resume();
  }
};

// A PollMethod callback: the exchanger from the function's data, C++ exceptions thrown into JS.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&, UdpExchanger*)>
napi_value Method(napi_env env, napi_callback_info cbinfo) {
  try {
    Napi::CallbackInfo info(env, cbinfo);
    auto* x = static_cast<UdpExchanger*>(info.Data());
    return Fn(info, x);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

[[noreturn]] void Fail(Napi::Env env, int sock, int err, const char* syscall, const UdpExchanger* x, const Peer& peer,
                       const char* option = nullptr) {
  if (sock >= 0) close(sock);
  ErrorContext ctx;  // made here, not per query: only a failure needs it
  ctx.device = x->device;
  ctx.address = peer.address;
  ctx.port = peer.port;
  if (option != nullptr) ctx.option = option;
  throw SystemError(env, err, syscall, ctx);
}

Napi::Value PeerMethod(const Napi::CallbackInfo& info, UdpExchanger* x) {
  Napi::Env env = info.Env();
  const int familyArg = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (familyArg != 4 && familyArg != 6) throw Napi::TypeError::New(env, "peer: family must be 4 or 6");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "peer: address must be a string");
  const double portArg = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(portArg >= 1 && portArg <= 65535) || portArg != static_cast<int>(portArg)) {
    throw Napi::TypeError::New(env, "peer: port must be an integer from 1 to 65535");
  }
  Peer peer;
  memset(&peer.addr, 0, sizeof peer.addr);
  peer.address = info[1].As<Napi::String>().Utf8Value();
  peer.port = static_cast<int>(portArg);
  if (familyArg == 4) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&peer.addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(peer.port));
    if (inet_pton(AF_INET, peer.address.c_str(), &sin->sin_addr) != 1) throw Napi::TypeError::New(env, "peer: not an IPv4 address: " + peer.address);
    peer.len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&peer.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(peer.port));
    if (inet_pton(AF_INET6, peer.address.c_str(), &sin6->sin6_addr) != 1) throw Napi::TypeError::New(env, "peer: not an IPv6 address: " + peer.address);
    peer.len = sizeof *sin6;
  }
  // The same peer again (a reload, a second pool) gets its old id: the list grows only with
  // the distinct servers ever configured.
  for (size_t i = 0; i < x->peers.size(); i++) {
    const Peer& p = x->peers[i];
    if (p.len == peer.len && memcmp(&p.addr, &peer.addr, peer.len) == 0) return Napi::Number::New(env, static_cast<double>(i));
  }
  x->peers.push_back(peer);
  return Napi::Number::New(env, static_cast<double>(x->peers.size() - 1));
}

Napi::Value Open(const Napi::CallbackInfo& info, UdpExchanger* x) {
  Napi::Env env = info.Env();
  const double peerArg = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(peerArg >= 0 && peerArg < static_cast<double>(x->peers.size())) || peerArg != static_cast<int32_t>(peerArg)) {
    throw Napi::TypeError::New(env, "open: peer must be an id that peer() returned");
  }
  const double lengthArg = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(lengthArg >= 1 && lengthArg <= static_cast<double>(kQueryBytes)) || lengthArg != static_cast<int32_t>(lengthArg)) {
    throw Napi::TypeError::New(env, "open: length must be an integer from 1 to " + std::to_string(kQueryBytes));
  }
  const auto id = static_cast<int32_t>(peerArg);
  const Peer& peer = x->peers[id];
  if (x->closing) Fail(env, -1, EBADF, "socket", x, peer);

  int sock = socket(peer.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock < 0) Fail(env, -1, errno, "socket", x, peer);
  if (x->device) {
    // Before the first send, which binds the socket: the route and the source address are
    // then looked up in the device's (the VRF's) table (socket.cc says why the order matters).
    const std::string& dev = *x->device;
    if (setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size() + 1) != 0) {
      Fail(env, sock, errno, "setsockopt", x, peer, "SO_BINDTODEVICE");
    }
  }
  // Into the epoll set before the query leaves, so a reply can never arrive unwatched.
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = sock;
  if (epoll_ctl(x->fd, EPOLL_CTL_ADD, sock, &ev) != 0) Fail(env, sock, errno, "epoll_ctl", x, peer);
  ssize_t sent;
  do {
    sent = sendto(sock, x->query, static_cast<size_t>(lengthArg), MSG_DONTWAIT, reinterpret_cast<const struct sockaddr*>(&peer.addr),
                  peer.len);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) Fail(env, sock, errno, "sendto", x, peer);  // close() takes it out of the epoll set
  x->Opened(sock, id);
  return Napi::Number::New(env, sock);
}

Napi::Value Finish(const Napi::CallbackInfo& info, UdpExchanger* x) {
  Napi::Env env = info.Env();
  const int sock = FdArg(env, info[0], "finish");
  if (x->OpenPeer(sock) == nullptr) throw Napi::TypeError::New(env, "finish: fd " + std::to_string(sock) + " is not an open exchange");
  x->Finished(sock);
  return env.Undefined();
}

Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
  PollClose(PollUnwrap(info, &kHandleTag, "UDP exchanger", "close"));  // CloseOwned: the exchanges too
  return info.Env().Undefined();
}

Napi::Value UdpExchangerNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::optional<std::string> device;
  if (info[0].IsString()) {
    device = info[0].As<Napi::String>().Utf8Value();
    if (device->empty() || device->size() >= 16) throw Napi::TypeError::New(env, "udpExchanger: device must be an interface name");
  } else if (!info[0].IsNull() && !info[0].IsUndefined()) {
    throw Napi::TypeError::New(env, "udpExchanger: device must be a string or null");
  }
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "udpExchanger: onReplies must be a function");
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw SystemError(env, errno, "epoll_create1", {});
  auto* x = new UdpExchanger();
  x->env = env;
  x->fd = epfd;  // closed by PollClose from here on
  x->device = device;
  Napi::Object handle;
  try {
    auto data = Napi::Buffer<unsigned char>::New(env, kSlots * kSlotBytes);
    auto lengths = Napi::Int32Array::New(env, kSlots);
    auto fds = Napi::Int32Array::New(env, kSlots);
    auto fromPeer = Napi::Uint8Array::New(env, kSlots);
    auto query = Napi::Buffer<unsigned char>::New(env, kQueryBytes);
    x->data = data.Data();
    x->lengths = lengths.Data();
    x->fds = fds.Data();
    x->fromPeer = fromPeer.Data();
    x->query = query.Data();
    x->dataRef = Napi::Persistent(data);
    x->lengthsRef = Napi::Persistent(lengths);
    x->fdsRef = Napi::Persistent(fds);
    x->fromPeerRef = Napi::Persistent(fromPeer);
    x->queryRef = Napi::Persistent(query);
    handle = Napi::Object::New(env);
    handle.DefineProperties({
        Napi::PropertyDescriptor::Value("data", data, napi_enumerable),
        Napi::PropertyDescriptor::Value("lengths", lengths, napi_enumerable),
        Napi::PropertyDescriptor::Value("fds", fds, napi_enumerable),
        Napi::PropertyDescriptor::Value("fromPeer", fromPeer, napi_enumerable),
        Napi::PropertyDescriptor::Value("slotBytes", Napi::Number::New(env, kSlotBytes), napi_enumerable),
        Napi::PropertyDescriptor::Value("query", query, napi_enumerable),
        Napi::PropertyDescriptor::Function(env, handle, "close", CloseMethod),
    });
  } catch (...) {
    PollAbandon(x);
    throw;
  }
  PollStart(env, x, handle, info[1].As<Napi::Function>(), "vrf-resolver:udp-upstream", &kHandleTag);
  PollUnref(x);
  // After PollStart: from here on x belongs to the handle (and to these functions).
  PollMethod(env, x, handle, "peer", Method<PeerMethod>);
  PollMethod(env, x, handle, "open", Method<Open>);
  PollMethod(env, x, handle, "finish", Method<Finish>);
  return handle;
}

}  // namespace

void InitUdpExchange(Napi::Env env, Napi::Object exports) {
  exports.Set("udpExchanger", Napi::Function::New(env, UdpExchangerNew, "udpExchanger"));
}

}  // namespace vrf
