// Entry point of the vrf_socket addon: gathers the exports of each .cc file.
// A future sd_notify sender (AF_UNIX datagram) goes in its own notify.cc with an InitNotify
// declared in addon.h and called below.
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vrf::InitSocket(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(vrf_socket, Init)
