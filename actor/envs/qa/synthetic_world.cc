#include "actor/envs/qa/synthetic_world.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

namespace mem1 {
namespace {

const char* kOnsets[] = {"b", "br", "d", "dr", "f", "g", "gl", "k", "kr", "l", "m", "n", "p", "qu", "r", "s", "st",
                         "t", "th", "v", "z", "zh", "y", "h"};
const char* kVowels[] = {"a", "e", "i", "o", "u", "ae", "ei", "ou", "y"};
const char* kCodas[] = {"", "n", "r", "th", "l", "s", "m", "x", "nd", "rk", "v"};

class NameMaker {
 public:
  explicit NameMaker(std::mt19937_64* rng) : rng_(rng) {}
  std::string Make(int min_syllables, int max_syllables) {
    for (int attempt = 0;; ++attempt) {
      const int n = min_syllables + Pick(max_syllables - min_syllables + 1);
      std::string s;
      for (int i = 0; i < n; ++i) {
        s += kOnsets[Pick(std::size(kOnsets))];
        s += kVowels[Pick(std::size(kVowels))];
        if (i + 1 == n || Pick(3) == 0) s += kCodas[Pick(std::size(kCodas))];
      }
      s[0] = static_cast<char>(std::toupper(s[0]));
      if (s.size() >= 4 && used_.insert(s).second) return s;
    }
  }
  int Pick(size_t n) { return static_cast<int>(std::uniform_int_distribution<size_t>(0, n - 1)(*rng_)); }

 private:
  std::mt19937_64* rng_;
  std::set<std::string> used_;
};

struct Country {
  std::string name, capital, currency, language;
  int founded = 0;
};
struct City {
  std::string name, country, river, mayor;
  int population = 0;
};
struct Person {
  std::string name, birthplace, profession;
  int born = 0;
};

const char* kProfessions[] = {"astronomer", "cartographer", "glassblower", "composer", "shipwright", "botanist",
                              "stonemason", "linguist", "falconer", "clockmaker", "weaver", "physician"};
const char* kFillers[] = {"according to the old chronicles", "as the archives record", "as travellers report",
                          "as the local almanac notes", "as scholars of the region agree"};

}  // namespace

SyntheticWorld GenerateSyntheticWorld(const SyntheticWorldOptions& o) {
  std::mt19937_64 rng(o.seed);
  NameMaker names(&rng);
  SyntheticWorld w;
  const int64_t n_countries = std::max<int64_t>(2, o.entities / 5);
  const int64_t n_cities = std::max<int64_t>(n_countries, 2 * o.entities / 5);
  const int64_t n_people = std::max<int64_t>(2, o.entities - n_countries - n_cities);
  std::vector<Country> countries(n_countries);
  std::vector<City> cities(n_cities);
  std::vector<Person> people(n_people);
  for (auto& c : cities) c.name = names.Make(2, 3);
  for (auto& p : people) p.name = names.Make(2, 2) + " " + names.Make(2, 3);
  for (int64_t i = 0; i < n_countries; ++i) {
    auto& c = countries[i];
    c.name = names.Make(2, 3);
    c.capital = cities[i].name;  // the first n_countries cities are capitals
    c.currency = names.Make(2, 2) + " " + (names.Pick(2) ? "crown" : "mark");
    c.language = names.Make(2, 2) + "ish";
    c.founded = 800 + names.Pick(1100);
  }
  for (int64_t i = 0; i < n_cities; ++i) {
    auto& c = cities[i];
    c.country = countries[i < n_countries ? i : names.Pick(n_countries)].name;
    c.river = names.Make(2, 2);
    c.mayor = people[names.Pick(n_people)].name;
    c.population = 1000 * (5 + names.Pick(2000));
  }
  for (auto& p : people) {
    p.birthplace = cities[names.Pick(n_cities)].name;
    p.profession = kProfessions[names.Pick(std::size(kProfessions))];
    p.born = 1500 + names.Pick(480);
  }
  for (const auto& c : countries) w.entity_names.push_back(c.name);
  for (const auto& c : cities) w.entity_names.push_back(c.name);
  for (const auto& p : people) w.entity_names.push_back(p.name);

  int64_t pid = 0;
  auto passage = [&](const std::string& title, const std::string& text) {
    w.corpus.push_back({std::to_string(pid++), "\"" + title + "\"\n" + text});
  };
  auto filler = [&] { return std::string(kFillers[names.Pick(std::size(kFillers))]); };
  // Fact passages (one per fact) and distractors that reuse names and words.
  for (const auto& c : countries) {
    passage(c.name, "The capital of " + c.name + " is " + c.capital + ", " + filler() + ".");
    passage(c.name, "The currency of " + c.name + " is the " + c.currency + ".");
    passage(c.name, "The official language of " + c.name + " is " + c.language + ".");
    passage(c.name, c.name + " was founded in the year " + std::to_string(c.founded) + ".");
  }
  for (const auto& c : cities) {
    passage(c.name, c.name + " is a city in " + c.country + ". The river " + c.river + " flows through " + c.name + ".");
    passage(c.name, "The mayor of " + c.name + " is " + c.mayor + ".");
    passage(c.name, c.name + " has a population of " + std::to_string(c.population) + ".");
  }
  for (const auto& p : people) {
    passage(p.name, p.name + " was born in " + p.birthplace + " in " + std::to_string(p.born) + ".");
    passage(p.name, p.name + " worked as a " + p.profession + ".");
  }
  for (int d = 0; d < o.distractors_per_fact; ++d) {
    for (const auto& c : countries) {
      const auto& other = countries[names.Pick(countries.size())];
      passage(c.name, "Travellers from " + c.name + " often visit " + other.capital + ", which is not the capital of " +
                          c.name + "; the currency there is the " + other.currency + ".");
    }
    for (const auto& c : cities) {
      const auto& other = cities[names.Pick(cities.size())];
      passage(c.name, "The river " + other.river + " does not flow through " + c.name + "; the mayor of " + other.name +
                          " once visited " + c.name + ".");
    }
    for (const auto& p : people) {
      const auto& other = people[names.Pick(people.size())];
      passage(p.name, p.name + " corresponded with " + other.name + ", a " + other.profession + " born in " +
                          other.birthplace + ".");
    }
  }
  std::shuffle(w.corpus.begin(), w.corpus.end(), rng);

  // Questions.
  std::vector<QaItem> qs;
  int64_t qid = 0;
  auto q = [&](const std::string& text, const std::string& answer, std::vector<std::string> hops) {
    qs.push_back({"syn-" + std::to_string(qid++), text, {answer}, std::move(hops)});
  };
  std::map<std::string, const Country*> country_by_name;
  std::map<std::string, const City*> city_by_name;
  for (const auto& c : countries) country_by_name[c.name] = &c;
  for (const auto& c : cities) city_by_name[c.name] = &c;
  std::uniform_real_distribution<double> u(0, 1);
  for (const auto& c : countries) {
    q("What is the capital of " + c.name + "?", c.capital, {"capital of " + c.name});
    q("What is the currency of " + c.name + "?", c.currency, {"currency of " + c.name});
    q("What is the official language of " + c.name + "?", c.language, {"official language of " + c.name});
    q("In which year was " + c.name + " founded?", std::to_string(c.founded), {c.name + " founded year"});
    if (u(rng) < o.two_hop_probability) {
      q("What is the currency of the country whose capital is " + c.capital + "?", c.currency,
        {"capital is " + c.capital, "currency of " + c.name});
    }
  }
  for (const auto& c : cities) {
    q("Which river flows through " + c.name + "?", c.river, {"river flows through " + c.name});
    q("Who is the mayor of " + c.name + "?", c.mayor, {"mayor of " + c.name});
    if (u(rng) < o.two_hop_probability) {
      const Country* country = country_by_name[c.country];
      q("What is the official language of the country in which " + c.name + " lies?", country->language,
        {c.name + " is a city in", "official language of " + country->name});
    }
  }
  for (const auto& p : people) {
    q("Where was " + p.name + " born?", p.birthplace, {p.name + " was born in"});
    q("What was the profession of " + p.name + "?", p.profession, {p.name + " worked as"});
    if (u(rng) < o.two_hop_probability) {
      const City* city = city_by_name[p.birthplace];
      q("Which river flows through the birthplace of " + p.name + "?", city->river,
        {p.name + " was born in", "river flows through " + city->name});
    }
  }
  std::shuffle(qs.begin(), qs.end(), rng);
  const size_t n = qs.size(), n_train = n * 8 / 10, n_dev = n / 10;
  w.train.assign(qs.begin(), qs.begin() + n_train);
  w.dev.assign(qs.begin() + n_train, qs.begin() + n_train + n_dev);
  w.test.assign(qs.begin() + n_train + n_dev, qs.end());
  return w;
}

Status WriteSyntheticWorld(const SyntheticWorld& w, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return InvalidArgument(out_dir + ": cannot create: " + ec.message());
  {
    std::ofstream out(out_dir + "/corpus.jsonl");
    for (const auto& p : w.corpus) out << PassageJsonLine(p) << "\n";
    if (!out) return Internal(out_dir + "/corpus.jsonl: write failed");
  }
  for (const auto& [name, items] : {std::pair<const char*, const std::vector<QaItem>*>{"train", &w.train},
                                    {"dev", &w.dev}, {"test", &w.test}}) {
    std::ofstream out(out_dir + "/" + name + ".jsonl");
    for (const auto& q : *items) out << QaJsonLine(q) << "\n";
    if (!out) return Internal(out_dir + "/" + name + ".jsonl: write failed");
  }
  return Status::Ok();
}

}  // namespace mem1
