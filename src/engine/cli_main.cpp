#include "engine/cli_main.hpp"

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/version.hpp"

namespace kv::engine {

int cli_main(int argc, char** argv) {
  CLI::App app{"kv-cache: MLPerf Storage KV-cache benchmark engine"};
  app.set_version_flag("--version", std::string("kv-cache ") + kVersion);
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

}  // namespace kv::engine
