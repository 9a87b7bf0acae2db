#include "actor/envs/qa/qa_data.h"

#include <glog/logging.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace mem1 {

std::string Passage::Title() const {
  const size_t nl = contents.find('\n');
  std::string t = contents.substr(0, nl);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

std::string Passage::Text() const {
  const size_t nl = contents.find('\n');
  return nl == std::string::npos ? std::string() : contents.substr(nl + 1);
}

void LoadReport::AddError(const std::string& where, const std::string& why) {
  ++skipped;
  if (first_errors.size() < 10) first_errors.push_back(where + ": " + why);
  if (skipped <= 10) LOG(WARNING) << "skipping " << where << ": " << why;
}

namespace {

template <typename Fn>
Status ForEachJsonLine(const std::string& path, LoadReport* report, Fn&& fn) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++report->lines;
    const std::string where = path + ":" + std::to_string(lineno);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      report->AddError(where, "invalid JSON");
      continue;
    }
    if (!j.is_object()) {
      report->AddError(where, "not a JSON object");
      continue;
    }
    std::string why;
    if (!fn(j, &why)) {
      report->AddError(where, why);
      continue;
    }
    ++report->loaded;
    if (why == "stop") break;
  }
  return Status::Ok();
}

bool StringField(const nlohmann::json& j, const char* key, std::string* out, std::string* why) {
  if (!j.contains(key)) { *why = std::string("missing \"") + key + "\""; return false; }
  if (j[key].is_string()) { *out = j[key].get<std::string>(); return true; }
  if (j[key].is_number_integer()) { *out = std::to_string(j[key].get<int64_t>()); return true; }
  *why = std::string("\"") + key + "\" is not a string";
  return false;
}

}  // namespace

Status ForEachPassage(const std::string& path, const std::function<bool(const Passage&)>& fn, LoadReport* report) {
  return ForEachJsonLine(path, report, [&](const nlohmann::json& j, std::string* why) {
    Passage p;
    if (!StringField(j, "id", &p.id, why) || !StringField(j, "contents", &p.contents, why)) return false;
    if (!fn(p)) *why = "stop";
    return true;
  });
}

Status ReadQaFile(const std::string& path, std::vector<QaItem>* items, LoadReport* report) {
  return ForEachJsonLine(path, report, [&](const nlohmann::json& j, std::string* why) {
    QaItem q;
    if (!StringField(j, "id", &q.id, why) || !StringField(j, "question", &q.question, why)) return false;
    if (!j.contains("golden_answers") || !j["golden_answers"].is_array() || j["golden_answers"].empty()) {
      *why = "\"golden_answers\" must be a non-empty array";
      return false;
    }
    for (const auto& a : j["golden_answers"]) {
      if (!a.is_string()) { *why = "\"golden_answers\" holds a non-string"; return false; }
      q.golden_answers.push_back(a.get<std::string>());
    }
    if (j.contains("metadata") && j["metadata"].is_object() && j["metadata"].contains("hops") &&
        j["metadata"]["hops"].is_array()) {
      for (const auto& h : j["metadata"]["hops"]) {
        if (h.is_string()) q.hops.push_back(h.get<std::string>());
      }
    }
    items->push_back(std::move(q));
    return true;
  });
}

std::string PassageJsonLine(const Passage& p) { return nlohmann::json{{"id", p.id}, {"contents", p.contents}}.dump(); }

std::string QaJsonLine(const QaItem& q) {
  nlohmann::json j{{"id", q.id}, {"question", q.question}, {"golden_answers", q.golden_answers}};
  if (!q.hops.empty()) j["metadata"] = {{"hops", q.hops}};
  return j.dump();
}

}  // namespace mem1
