#pragma once
// The human summary of one scenario's JSON report, and the machine description added to it.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace mqttsn::bench {

void print_summary(const nlohmann::json& report, std::FILE* out);

// One row of the results table; markdown_header() is the table's head (two lines).
std::string markdown_row(const nlohmann::json& report);
std::string markdown_header();

// The side-by-side table of field runs (one row per report, in order): the figures per reading, and
// each variant's gateway CPU per reading as a multiple of the `baseline` variant's (store off).
std::string field_table(const std::vector<nlohmann::json>& reports, const std::string& baseline);

// {"nproc": N, "cpu": "model name", "kernel": "uname -r"}
nlohmann::json machine_json();

// "2026-11-25T21:40:00Z"
std::string utc_timestamp();

}  // namespace mqttsn::bench
