#include "engine/cli_main.hpp"

int main(int argc, char** argv) { return kv::engine::cli_main(argc, argv); }
