// udpExchanger(device, onReplies) -> { data, lengths, fds, fromPeer, slotBytes, open(), finish(),
// close() }: the sockets of upstream UDP exchanges, made, sent on, read and closed by the
// helper, one JS call per batch of replies (issue 13).
//
// Every exchange still has a socket of its own on a port the kernel picks at random (RFC 5452
// section 9.2), as Unbound does: a pool of long-lived sockets would make the port guessable
// for as long as a socket lives. What goes away is Node's part: adopting each fd into dgram
// (a UDPWrap, a uv_udp_t, getsockname and fstat calls), turning libuv's SO_REUSEADDR off
// again, one JS event per datagram. Here:
//
//   open(family, address, port, query) -> fd
//            socket(SOCK_NONBLOCK|SOCK_CLOEXEC) -> SO_BINDTODEVICE (the device given at
//            creation, if any) -> sendto(address:port). No bind(): sendto() binds an unbound
//            socket to a random ephemeral port, the same choice as bind() to port 0
//            (inet_autobind), one system call fewer. No SO_REUSEADDR: with it on, any local
//            process of any user could bind the same port with SO_REUSEADDR too and take our
//            replies (udp_lib_lport_inuse() checks sk_reuse on both sockets, not the owner),
//            and the random port would protect nothing. libuv turns it on for every UDP fd
//            Node adopts, one more reason these never reach dgram. The fd joins the
//            exchanger's epoll set. Throws a
//            SystemError (syscall socket, setsockopt or sendto) and closes the fd on failure.
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
//   close()  closes every open exchange socket and the epoll set; idempotent.
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
#include <unordered_map>

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

constexpr napi_type_tag kHandleTag = {0x7564706578636867ull, 0x7672662d7265736full};

struct Peer {
  struct sockaddr_storage addr;
  socklen_t len;
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
  std::unordered_map<int, Peer> open;  // exchange fd -> where its query went
  unsigned char* data = nullptr;
  int32_t* lengths = nullptr;
  int32_t* fds = nullptr;
  uint8_t* fromPeer = nullptr;
  Napi::Reference<Napi::Buffer<unsigned char>> dataRef;
  Napi::Reference<Napi::Int32Array> lengthsRef;
  Napi::Reference<Napi::Int32Array> fdsRef;
  Napi::Reference<Napi::Uint8Array> fromPeerRef;

  ~UdpExchanger() override { CloseExchanges(); }

  void CloseExchanges() {
    for (auto& entry : open) close(entry.first);
    open.clear();
  }

  void ReleaseJs() override {
    dataRef.Reset();
    lengthsRef.Reset();
    fdsRef.Reset();
    fromPeerRef.Reset();
    data = nullptr;
    lengths = nullptr;
    fds = nullptr;
    fromPeer = nullptr;
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
        auto it = open.find(sock);
        if (it == open.end()) continue;  // finished since epoll_wait (cannot happen; harmless)
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
        fromPeer[n] = SamePeer(it->second, from, fromLen) ? 1 : 0;
        n++;
      }
      if (n > 0) Call({Napi::Number::New(Napi::Env(env), n)});
      if (ready < kSlots) break;
    }
    if (stopped && !closing) Resume();
  }
};

UdpExchanger* Unwrap(const Napi::CallbackInfo& info, const char* fn) {
  return static_cast<UdpExchanger*>(PollUnwrap(info, &kHandleTag, "UDP exchanger", fn));
}

[[noreturn]] void Fail(Napi::Env env, int sock, int err, const char* syscall, const ErrorContext& ctx) {
  if (sock >= 0) close(sock);
  throw SystemError(env, err, syscall, ctx);
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UdpExchanger* x = Unwrap(info, "open");
  const int familyArg = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  if (familyArg != 4 && familyArg != 6) throw Napi::TypeError::New(env, "open: family must be 4 or 6");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "open: address must be a string");
  const double portArg = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(portArg >= 1 && portArg <= 65535) || portArg != static_cast<int>(portArg)) {
    throw Napi::TypeError::New(env, "open: port must be an integer from 1 to 65535");
  }
  if (!info[3].IsBuffer()) throw Napi::TypeError::New(env, "open: query must be a Buffer");
  if (x->closing) throw SystemError(env, EBADF, "socket", {});

  const std::string address = info[1].As<Napi::String>().Utf8Value();
  const int port = static_cast<int>(portArg);
  ErrorContext ctx;
  ctx.device = x->device;
  ctx.address = address;
  ctx.port = port;
  Peer peer;
  memset(&peer, 0, sizeof peer);
  const int family = familyArg == 4 ? AF_INET : AF_INET6;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&peer.addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1) throw Napi::TypeError::New(env, "open: not an IPv4 address: " + address);
    peer.len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&peer.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) != 1) throw Napi::TypeError::New(env, "open: not an IPv6 address: " + address);
    peer.len = sizeof *sin6;
  }

  int sock = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock < 0) Fail(env, -1, errno, "socket", ctx);
  if (x->device) {
    // Before the first send, which binds the socket: the route and the source address are
    // then looked up in the device's (the VRF's) table (socket.cc says why the order matters).
    const std::string& dev = *x->device;
    if (setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), dev.size() + 1) != 0) {
      int err = errno;
      ErrorContext c = ctx;
      c.option = "SO_BINDTODEVICE";
      Fail(env, sock, err, "setsockopt", c);
    }
  }
  // Into the epoll set before the query leaves, so a reply can never arrive unwatched.
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.fd = sock;
  if (epoll_ctl(x->fd, EPOLL_CTL_ADD, sock, &ev) != 0) Fail(env, sock, errno, "epoll_ctl", ctx);
  auto query = info[3].As<Napi::Buffer<unsigned char>>();
  ssize_t sent;
  do {
    sent = sendto(sock, query.Data(), query.Length(), MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&peer.addr), peer.len);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) Fail(env, sock, errno, "sendto", ctx);  // close() takes it out of the epoll set
  x->open.emplace(sock, peer);
  return Napi::Number::New(env, sock);
}

Napi::Value Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UdpExchanger* x = Unwrap(info, "finish");
  const int sock = FdArg(env, info[0], "finish");
  auto it = x->open.find(sock);
  if (it == x->open.end()) throw Napi::TypeError::New(env, "finish: fd " + std::to_string(sock) + " is not an open exchange");
  x->open.erase(it);
  close(sock);  // Linux releases the descriptor even when close() fails: nothing to retry
  return env.Undefined();
}

Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
  UdpExchanger* x = Unwrap(info, "close");
  x->CloseExchanges();
  PollClose(x);
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
    x->data = data.Data();
    x->lengths = lengths.Data();
    x->fds = fds.Data();
    x->fromPeer = fromPeer.Data();
    x->dataRef = Napi::Persistent(data);
    x->lengthsRef = Napi::Persistent(lengths);
    x->fdsRef = Napi::Persistent(fds);
    x->fromPeerRef = Napi::Persistent(fromPeer);
    handle = Napi::Object::New(env);
    handle.DefineProperties({
        Napi::PropertyDescriptor::Value("data", data, napi_enumerable),
        Napi::PropertyDescriptor::Value("lengths", lengths, napi_enumerable),
        Napi::PropertyDescriptor::Value("fds", fds, napi_enumerable),
        Napi::PropertyDescriptor::Value("fromPeer", fromPeer, napi_enumerable),
        Napi::PropertyDescriptor::Value("slotBytes", Napi::Number::New(env, kSlotBytes), napi_enumerable),
        Napi::PropertyDescriptor::Function(env, handle, "open", Open),
        Napi::PropertyDescriptor::Function(env, handle, "finish", Finish),
        Napi::PropertyDescriptor::Function(env, handle, "close", CloseMethod),
    });
  } catch (...) {
    PollAbandon(x);
    throw;
  }
  PollStart(env, x, handle, info[1].As<Napi::Function>(), "vrf-resolver:udp-upstream", &kHandleTag);
  PollUnref(x);
  return handle;
}

}  // namespace

void InitUdpExchange(Napi::Env env, Napi::Object exports) {
  exports.Set("udpExchanger", Napi::Function::New(env, UdpExchangerNew, "udpExchanger"));
}

}  // namespace vrf
