// The shared lifetime of a polled socket (polled_fd.h says the rules).
#include "polled_fd.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

namespace vrf {

namespace {
constexpr uv_handle_type kUvPoll = UV_POLL;
constexpr int kUvReadable = UV_READABLE;
}  // namespace

void PolledFd::MaybeDelete(PolledFd* p) {
  if (p->pollClosed_ && p->holders_ == 0) delete p;
}

// Releases what JavaScript holds: outside any callback into JS (a uv close callback, or Close
// before polling ever started), so the async context is never destroyed while in use.
void PolledFd::Release(PolledFd* p) {
  try {
    Napi::HandleScope scope(p->env);
    p->callback_.Reset();
    p->ReleaseJs();
  } catch (const Napi::Error&) {
    // Called from libuv, where nothing may throw; deleting a reference does not fail while the
    // environment exists, and the cleanup hook keeps it alive until we are done.
  }
  p->async_.reset();
  if (p->hook_ != nullptr) {
    napi_remove_async_cleanup_hook(p->hook_);  // tells Node a teardown may go on, if it waits
    p->hook_ = nullptr;
  }
}

void PolledFd::OnPollClosed(uv_handle_t* handle) {
  auto* p = static_cast<PolledFd*>(uv_handle_get_data(handle));
  free(p->poll_);
  p->poll_ = nullptr;
  close(p->fd);  // only now: libuv watched it until the close callback
  p->fd = -1;
  p->pollClosed_ = true;
  Release(p);
  MaybeDelete(p);
}

void PollClose(PolledFd* p) {
  if (p->closing) return;
  p->closing = true;
  p->CloseOwned();
  if (p->poll_ != nullptr) {
    uv_poll_stop(p->poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(p->poll_), PolledFd::OnPollClosed);
    return;
  }
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  p->pollClosed_ = true;
  PolledFd::Release(p);
}

void PollUnref(PolledFd* p) {
  if (p->poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(p->poll_));
}

void PollAbandon(PolledFd* p) {
  PollClose(p);
  PolledFd::MaybeDelete(p);
}

void PolledFd::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* data) {
  PollClose(static_cast<PolledFd*>(data));  // OnPollClosed removes the hook, which lets Node go on
}

void PolledFd::Finalize(napi_env env, void* data, void* hint) {
  auto* p = static_cast<PolledFd*>(data);
  p->holders_--;
  PollClose(p);
  MaybeDelete(p);
}

// A PollMethod function is gone. Nothing to close: the handle's own finalizer does that (a
// method may outlive its handle, and then finds `closing` set).
void PolledFd::MethodFinalize(napi_env env, void* data, void* hint) {
  auto* p = static_cast<PolledFd*>(data);
  p->holders_--;
  MaybeDelete(p);
}

void PollMethod(Napi::Env env, PolledFd* p, Napi::Object handle, const char* name, napi_callback cb) {
  napi_value fn = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, p, &fn));
  NAPI_THROW_IF_FAILED_VOID(env, napi_add_finalizer(env, fn, p, PolledFd::MethodFinalize, nullptr, nullptr));
  p->holders_++;
  NAPI_THROW_IF_FAILED_VOID(env, napi_set_named_property(env, handle, name, fn));
}

Napi::Value PolledFd::Call(const std::initializer_list<napi_value>& args) {
  if (closing) return Napi::Value();
  Napi::Env e(env);
  try {
    return callback_.MakeCallback(e.Global(), args, *async_);
  } catch (const Napi::Error& err) {
    napi_fatal_exception(env, err.Value());
    return Napi::Value();
  }
}

int PolledFd::Resume() {
  if (closing || poll_ == nullptr) return 0;
  return uv_poll_start(poll_, kUvReadable, OnReadable);
}

void PolledFd::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<PolledFd*>(uv_handle_get_data(reinterpret_cast<uv_handle_t*>(handle)));
  if (p->closing) return;
  try {
    Napi::HandleScope scope(p->env);
    p->Readable(status);
  } catch (const Napi::Error&) {
    // No exception may leave a libuv callback. Making a Buffer or an Array fails only when the
    // environment can no longer run JavaScript: a Worker or the process is ending, and its
    // loop still turns while handles close. Nothing can be delivered any more: stop reading
    // (the cleanup hook or the finalizer does the rest).
    PollClose(p);
  }
}

void PollStart(Napi::Env env, PolledFd* p, Napi::Object handle, Napi::Function callback, const char* resource,
               const napi_type_tag* tag) {
  try {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "no event loop");
    // No strong reference to the handle is kept: dropping it without close() lets the garbage
    // collector run Finalize, which closes the socket.
    NAPI_THROW_IF_FAILED_VOID(env, napi_wrap(env, handle, p, PolledFd::Finalize, nullptr, nullptr));
    p->holders_++;
    NAPI_THROW_IF_FAILED_VOID(env, napi_type_tag_object(env, handle, tag));
    p->callback_ = Napi::Persistent(callback);
    // The async resource is an object of its own: naming the handle would keep it reachable.
    p->async_.reset(new Napi::AsyncContext(env, resource));
    NAPI_THROW_IF_FAILED_VOID(env, napi_add_async_cleanup_hook(env, PolledFd::OnEnvCleanup, p, &p->hook_));

    auto* poll = static_cast<uv_poll_t*>(malloc(uv_handle_size(kUvPoll)));
    if (poll == nullptr) throw SystemError(env, ENOMEM, "uv_poll_init", {});
    int rc = uv_poll_init(loop, poll, p->fd);
    if (rc != 0) {
      free(poll);  // never initialised: no uv_close needed
      throw SystemError(env, -rc, "uv_poll_init", {});
    }
    p->poll_ = poll;  // from here on only uv_close (in PollClose) releases it
    uv_handle_set_data(reinterpret_cast<uv_handle_t*>(poll), p);
    rc = uv_poll_start(poll, kUvReadable, PolledFd::OnReadable);
    if (rc != 0) throw SystemError(env, -rc, "uv_poll_start", {});
  } catch (...) {
    // Every partial state closes the same way; the memory goes when the poll handle is closed
    // and (if the object was wrapped) when its finalizer runs.
    PollAbandon(p);
    throw;
  }
}

PolledFd* PollUnwrap(const Napi::CallbackInfo& info, const napi_type_tag* tag, const char* kind, const char* fn) {
  napi_env env = info.Env();
  bool tagged = false;
  void* data = nullptr;
  if (!info.This().IsObject() || napi_check_object_type_tag(env, info.This(), tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, info.This(), &data) != napi_ok || data == nullptr) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": not called on a " + kind + " handle");
  }
  return static_cast<PolledFd*>(data);
}

}  // namespace vrf
