// udpServe(fd, onBatch) -> { data, lengths, addrs, sendLater(replies, addrs), close() }: a UDP
// listener's socket read and written in batches, recvmmsg(2) and sendmmsg(2), on Node's own
// event loop (issue 13). Node's dgram makes one JS call per datagram received and one system
// call per reply sent; a cache hit costs little more than that. Here one JS call serves up to
// kSlots datagrams, and their replies leave in one system call.
//
// The helper only moves bytes; what to answer is TypeScript's (src/server/udp-batch.ts). The
// socket is the helper's from the call on, also when the call throws: nothing else may read it
// (one owner per fd), and close(), the garbage collector or a failed call closes it.
//
//   data     Buffer of kSlots slots of kSlotBytes: datagram i is data[i*kSlotBytes, +lengths[i]).
//            kSlotBytes is the largest query we read (MAX_QUERY_LEN, src/dns/query.ts) plus
//            one: a longer datagram arrives cut to kSlotBytes, and the pipeline drops anything
//            longer than MAX_QUERY_LEN, as it would drop the whole datagram.
//   lengths  Int32Array(kSlots), the length of each datagram of the batch.
//   addrs    Buffer of kSlots sockaddr_in6-sized slots (kAddrBytes): the sender of datagram
//            i, as the kernel wrote it (sockaddr_in or sockaddr_in6, host byte order family).
//   onBatch(count, sendErrno) -> replies
//            called once per batch with the slots filled; replies[i] (a Buffer, or anything
//            else for no reply) goes to the sender of datagram i once onBatch returns, all in
//            one sendmmsg. sendErrno: the errno of a reply that could not be sent since the
//            last call (0: none), for a log line.
//   sendLater(replies, addrs)
//            replies after the batch (cache misses answered later), replies[i] to addrs[i], a
//            copy of its sender's slot of addrs; in one sendmmsg per kSlots. Returns 0 or the
//            errno of the last failed send.
//   close()  idempotent.
//
// Slots are reused by the next batch: JavaScript must copy what it keeps past onBatch.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "polled_fd.h"

namespace vrf {

namespace {

constexpr int kSlots = 64;
constexpr size_t kSlotBytes = 4096 + 1;  // MAX_QUERY_LEN + 1
constexpr size_t kAddrBytes = sizeof(struct sockaddr_in6);
// Per wakeup: a flood must not keep timers, TCP and upstream replies off the loop.
constexpr int kMaxBatchesPerWakeup = 4;

constexpr napi_type_tag kHandleTag = {0x7564706261746368ull, 0x7672662d7265736full};

socklen_t AddrLen(const unsigned char* addr) {
  sa_family_t family;
  memcpy(&family, addr, sizeof family);
  return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

// One outgoing datagram: `buf` to the sockaddr at `addr`.
void FillSend(struct mmsghdr& msg, struct iovec& iov, const Napi::Buffer<unsigned char>& buf, unsigned char* addr) {
  iov.iov_base = buf.Data();
  iov.iov_len = buf.Length();
  memset(&msg, 0, sizeof msg);
  msg.msg_hdr.msg_iov = &iov;
  msg.msg_hdr.msg_iovlen = 1;
  msg.msg_hdr.msg_name = addr;
  msg.msg_hdr.msg_namelen = AddrLen(addr);
}

// Sends msgs[0, n) in as few sendmmsg calls as the kernel allows. A message that fails is
// skipped; with the send buffer full (EAGAIN) the rest is dropped, as a full socket drops.
// Returns the errno of the last failure, or 0.
int SendAll(int fd, struct mmsghdr* msgs, int n) {
  int failed = 0;
  int off = 0;
  while (off < n) {
    int sent = sendmmsg(fd, msgs + off, static_cast<unsigned>(n - off), MSG_DONTWAIT);
    if (sent > 0) {
      off += sent;
      continue;
    }
    int err = sent < 0 ? errno : EIO;
    if (err == EINTR) continue;
    failed = err;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    off++;  // sendmmsg reports the first message's error: skip it, send the rest
  }
  return failed;
}

class UdpBatch : public PolledFd {
 public:
  unsigned char* data = nullptr;
  int32_t* lengths = nullptr;
  unsigned char* addrs = nullptr;
  // The buffers JavaScript sees; kept alive while we write into them.
  Napi::Reference<Napi::Buffer<unsigned char>> dataRef;
  Napi::Reference<Napi::Int32Array> lengthsRef;
  Napi::Reference<Napi::Buffer<unsigned char>> addrsRef;
  int sendErrno = 0;  // the last failed send since the previous onBatch

  void ReleaseJs() override {
    dataRef.Reset();
    lengthsRef.Reset();
    addrsRef.Reset();
    data = nullptr;
    lengths = nullptr;
    addrs = nullptr;
  }

  // Sends replies[0, count) that are Buffers to their senders (SendAll); a failure's errno is
  // kept for the next onBatch.
  void SendReplies(Napi::Value result, int count) {
    if (result.IsEmpty() || !result.IsArray()) return;
    Napi::Array replies = result.As<Napi::Array>();
    const uint32_t have = replies.Length();
    struct mmsghdr msgs[kSlots];
    struct iovec iov[kSlots];
    int n = 0;
    for (int i = 0; i < count && static_cast<uint32_t>(i) < have; i++) {
      Napi::Value v = replies.Get(static_cast<uint32_t>(i));
      if (!v.IsBuffer()) continue;
      FillSend(msgs[n], iov[n], v.As<Napi::Buffer<unsigned char>>(), addrs + static_cast<size_t>(i) * kAddrBytes);
      n++;
    }
    int err = SendAll(fd, msgs, n);
    if (err != 0) sendErrno = err;
  }

 protected:
  void Readable(int status) override {
    const bool stopped = status < 0;
    struct mmsghdr msgs[kSlots];
    struct iovec iov[kSlots];
    for (int round = 0; round < kMaxBatchesPerWakeup && !closing; round++) {
      for (int i = 0; i < kSlots; i++) {
        iov[i].iov_base = data + static_cast<size_t>(i) * kSlotBytes;
        iov[i].iov_len = kSlotBytes;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = addrs + static_cast<size_t>(i) * kAddrBytes;
        msgs[i].msg_hdr.msg_namelen = kAddrBytes;
      }
      int n = recvmmsg(fd, msgs, kSlots, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        // EAGAIN: drained. Anything else (an ICMP error queued on the socket, say) was
        // consumed by this call; the next wakeup goes on.
        break;
      }
      if (n == 0) break;
      for (int i = 0; i < n; i++) lengths[i] = static_cast<int32_t>(msgs[i].msg_len);
      Napi::Env e(env);
      int pending = sendErrno;
      sendErrno = 0;
      Napi::Value replies = Call({Napi::Number::New(e, n), Napi::Number::New(e, pending)});
      if (closing) break;  // close() inside onBatch: the replies go nowhere
      SendReplies(replies, n);
      if (n < kSlots) break;  // the queue is empty: no need for another recvmmsg
    }
    if (stopped && !closing) Resume();  // a socket error (POLLERR) stopped the poll handle
  }
};

UdpBatch* Unwrap(const Napi::CallbackInfo& info, const char* fn) {
  return static_cast<UdpBatch*>(PollUnwrap(info, &kHandleTag, "UDP batch", fn));
}

// sendLater(replies, addrs): replies[i] to addrs[i], all in one sendmmsg when they fit.
Napi::Value SendLater(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  UdpBatch* u = Unwrap(info, "sendLater");
  if (!info[0].IsArray() || !info[1].IsArray()) throw Napi::TypeError::New(env, "sendLater: replies and addrs must be arrays");
  Napi::Array replies = info[0].As<Napi::Array>();
  Napi::Array addrs = info[1].As<Napi::Array>();
  const uint32_t total = replies.Length();
  if (addrs.Length() != total) throw Napi::TypeError::New(env, "sendLater: one addr per reply");
  if (u->closing) return Napi::Number::New(env, total > 0 ? EBADF : 0);
  struct mmsghdr msgs[kSlots];
  struct iovec iov[kSlots];
  int failed = 0;
  for (uint32_t at = 0; at < total;) {
    int n = 0;
    for (; n < kSlots && at < total; n++, at++) {
      Napi::Value reply = replies.Get(at);
      Napi::Value addr = addrs.Get(at);
      if (!reply.IsBuffer() || !addr.IsBuffer() || addr.As<Napi::Buffer<unsigned char>>().Length() != kAddrBytes) {
        throw Napi::TypeError::New(env, "sendLater: each reply must be a Buffer, each addr one slot of addrs");
      }
      FillSend(msgs[n], iov[n], reply.As<Napi::Buffer<unsigned char>>(), addr.As<Napi::Buffer<unsigned char>>().Data());
    }
    int err = SendAll(u->fd, msgs, n);
    if (err != 0) failed = err;
  }
  return Napi::Number::New(env, failed);
}

Napi::Value CloseMethod(const Napi::CallbackInfo& info) {
  PollClose(Unwrap(info, "close"));
  return info.Env().Undefined();
}

Napi::Value UdpServe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArg(env, info[0], "udpServe");
  auto* u = new UdpBatch();
  u->env = env;
  u->fd = fd;  // ours from here, also when this call throws (PollAbandon closes it)
  Napi::Object handle;
  try {
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "udpServe: onBatch must be a function");
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) throw SystemError(env, errno, "getsockopt", {});
    if (type != SOCK_DGRAM) throw Napi::TypeError::New(env, "udpServe: fd is not a datagram socket");
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw SystemError(env, errno, "fcntl", {});
    auto data = Napi::Buffer<unsigned char>::New(env, kSlots * kSlotBytes);
    auto lengths = Napi::Int32Array::New(env, kSlots);
    auto addrs = Napi::Buffer<unsigned char>::New(env, kSlots * kAddrBytes);
    u->data = data.Data();
    u->lengths = lengths.Data();
    u->addrs = addrs.Data();
    u->dataRef = Napi::Persistent(data);
    u->lengthsRef = Napi::Persistent(lengths);
    u->addrsRef = Napi::Persistent(addrs);
    handle = Napi::Object::New(env);
    handle.DefineProperties({
        Napi::PropertyDescriptor::Value("data", data, napi_enumerable),
        Napi::PropertyDescriptor::Value("lengths", lengths, napi_enumerable),
        Napi::PropertyDescriptor::Value("addrs", addrs, napi_enumerable),
        Napi::PropertyDescriptor::Value("slotBytes", Napi::Number::New(env, kSlotBytes), napi_enumerable),
        Napi::PropertyDescriptor::Value("addrBytes", Napi::Number::New(env, kAddrBytes), napi_enumerable),
        Napi::PropertyDescriptor::Function(env, handle, "sendLater", SendLater),
        Napi::PropertyDescriptor::Function(env, handle, "close", CloseMethod),
    });
  } catch (...) {
    PollAbandon(u);
    throw;
  }
  PollStart(env, u, handle, info[1].As<Napi::Function>(), "vrf-resolver:udp", &kHandleTag);
  return handle;
}

}  // namespace

void InitUdpBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("udpServe", Napi::Function::New(env, UdpServe, "udpServe"));
}

}  // namespace vrf
