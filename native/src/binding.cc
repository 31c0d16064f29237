// The one place where native values become JavaScript values.
#include <napi.h>

namespace {

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), GATEHOUSE_VERSION);
}

Napi::Value Backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), GATEHOUSE_BACKEND);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("backend", Napi::Function::New(env, Backend, "backend"));
  return exports;
}

}  // namespace

NODE_API_MODULE(gatehouse, Init)
