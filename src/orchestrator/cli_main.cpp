#include "orchestrator/cli_main.hpp"

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/version.hpp"

namespace kv::orchestrator {

int cli_main(int argc, char** argv) {
  CLI::App app{"mlpstorage: MLPerf Storage orchestrator (kvcache, history)"};
  app.set_version_flag("--version", std::string("mlpstorage ") + kVersion);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return to_int(ExitCode::kInvalidArguments);
  }
  return 0;
}

}  // namespace kv::orchestrator
