#pragma once
// RunClaim: what makes an inlet, an outlet or a service serve one run only. Runtime::start claims
// it before it builds anything, so a second start of the flow fails at once and leaves the first
// run's queue alone; a start that fails later gives the claim back. The claim is for the queue's
// lifetime: what a run closed stays closed.

#include <atomic>
#include <stdexcept>
#include <string>

namespace rill::detail {

class RunClaim {
  public:
    /// Throws std::logic_error "rill: <what> already serves a run ..." when already claimed.
    void claim(const std::string& what) {
        if (claimed_.exchange(true)) {
            throw std::logic_error("rill: " + what +
                                   " already serves a run: a flow with an inlet, an outlet or a "
                                   "service runs once; build a new Flow for another run");
        }
    }
    void unclaim() noexcept { claimed_.store(false); }

  private:
    std::atomic<bool> claimed_{false};
};

}  // namespace rill::detail
