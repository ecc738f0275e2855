#include "orchestrator/cli_main.hpp"

int main(int argc, char** argv) { return kv::orchestrator::cli_main(argc, argv); }
