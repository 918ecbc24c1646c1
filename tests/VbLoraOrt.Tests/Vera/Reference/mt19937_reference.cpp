// Reference numbers for TorchGenerator tests: std::mt19937 seeded with a 32-bit value, and the float uniform
// transformation torch applies ((u32 & 0xFFFFFF) * 2^-24 * (to - from) + from, all in float, no contraction).
#include <random>
#include <cstdio>
#include <cstdint>
#include <cmath>
int main() {
  uint32_t seeds[] = {0u, 42u, 5489u, 4294967295u};
  for (uint32_t s : seeds) {
    std::mt19937 g(s);
    printf("seed %u:", s);
    for (int i = 0; i < 5; i++) printf(" %u", (unsigned)g());
    // skip to draw 624..628 (crossing the first regeneration) and 10000th
    for (int i = 5; i < 624; i++) g();
    printf(" |624:");
    for (int i = 624; i < 627; i++) printf(" %u", (unsigned)g());
    for (int i = 627; i < 9999; i++) g();
    printf(" |9999: %u\n", (unsigned)g());
  }
  // torch.rand(5) after manual_seed(0): float uniform(0,1)
  std::mt19937 g0(0);
  printf("rand5:");
  for (int i = 0; i < 5; i++) { uint32_t v = g0(); volatile float x = (float)(v & 0xFFFFFFu) * (1.0f / 16777216.0f); volatile float r = x * (1.0f - 0.0f) + 0.0f; printf(" %.9g", (double)r); }
  printf("\n");
  // uniform(-b, b) with b = sqrt(3)*sqrt(2)/sqrt(384) for seed 0, first 4, printed as float bits
  double bound = std::sqrt(3.0) * (std::sqrt(2.0) / std::sqrt(384.0));
  float from = (float)(-bound), to = (float)bound;
  std::mt19937 g1(0);
  printf("bound %.17g from %.9g to %.9g:", bound, (double)from, (double)to);
  for (int i = 0; i < 4; i++) { uint32_t v = g1(); volatile float x = (float)(v & 0xFFFFFFu) * (1.0f / 16777216.0f); volatile float d = to - from; volatile float p = x * d; volatile float r = p + from; printf(" %.9g", (double)r); }
  printf("\n");
}
