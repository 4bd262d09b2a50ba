// Runs an admin http::Server (metrics, status) on a thread of its own beside
// the program's main loop until destroyed; joins in the destructor (also when
// the main loop throws). Used by `serve --metrics-listen` and `heartbeat serve
// --metrics-listen`. Null: nothing runs.
#pragma once

#include <thread>

#include "tether/http/server.h"

namespace tether::app {

class AdminThread {
 public:
  explicit AdminThread(http::Server* admin) : admin_(admin) {
    if (admin_ != nullptr) thread_ = std::thread([this] { admin_->run(); });
  }
  ~AdminThread() {
    if (admin_ == nullptr) return;
    admin_->stop();
    thread_.join();
  }
  AdminThread(const AdminThread&) = delete;
  AdminThread& operator=(const AdminThread&) = delete;

 private:
  http::Server* admin_;
  std::thread thread_;
};

}  // namespace tether::app
