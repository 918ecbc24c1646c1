// Reference values from libtorch 2.10 CPU (NuGet libtorch-cpu-linux-x64 2.10.0) through its exported C shim:
// the default CPU generator re-seeded (as torch.manual_seed / Generator().manual_seed), then uniform on float32.
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <vector>
#include <cstring>
extern "C" {
typedef void* AtenTensorHandle;
typedef void* AtenGeneratorHandle;
int32_t aoti_torch_dtype_float32();
int32_t aoti_torch_device_type_cpu();
int32_t aoti_torch_empty_strided(int64_t ndim, const int64_t* sizes, const int64_t* strides, int32_t dtype, int32_t device_type, int32_t device_index, AtenTensorHandle* ret);
int32_t aoti_torch_cpu_uniform(AtenTensorHandle self, double from, double to, AtenGeneratorHandle* generator, AtenTensorHandle* ret0);
int32_t aoti_torch_get_data_ptr(AtenTensorHandle tensor, void** ret);
int32_t aoti_torch_delete_tensor_object(AtenTensorHandle tensor);
}
namespace at {
class Generator;
namespace detail { const Generator& getDefaultCPUGenerator(); }
class CPUGeneratorImpl { public: void set_current_seed(uint64_t seed); };
}
static void seed(uint64_t s) {
  const at::Generator& g = at::detail::getDefaultCPUGenerator();
  at::CPUGeneratorImpl* impl = *reinterpret_cast<at::CPUGeneratorImpl* const*>(&g);  // Generator holds one intrusive_ptr
  impl->set_current_seed(s);
}
static std::vector<float> uniform(int64_t n, double from, double to) {
  int64_t size[1] = {n}, stride[1] = {1};
  AtenTensorHandle t = nullptr, out = nullptr;
  if (aoti_torch_empty_strided(1, size, stride, aoti_torch_dtype_float32(), aoti_torch_device_type_cpu(), 0, &t)) { printf("empty failed\n"); return {}; }
  if (aoti_torch_cpu_uniform(t, from, to, nullptr, &out)) { printf("uniform failed\n"); return {}; }
  void* p = nullptr; aoti_torch_get_data_ptr(out, &p);
  std::vector<float> v((float*)p, (float*)p + n);
  aoti_torch_delete_tensor_object(out); aoti_torch_delete_tensor_object(t);
  return v;
}
static double bound(long fan) { double gain = std::sqrt(2.0); double s = gain / std::sqrt((double)fan); return std::sqrt(3.0) * s; }
static void bits(const char* label, const std::vector<float>& v, size_t k) {
  printf("%s:", label);
  for (size_t i = 0; i < k && i < v.size(); i++) { uint32_t b; memcpy(&b, &v[i], 4); printf(" %.9g(0x%08x)", v[i], b); }
  printf("\n");
}
static uint64_t fnv(const std::vector<float>& v) { uint64_t h = 14695981039346656037ull; const unsigned char* p = (const unsigned char*)v.data(); for (size_t i = 0; i < v.size() * 4; i++) { h ^= p[i]; h *= 1099511628211ull; } return h; }
int main() {
  seed(0); bits("seed0 uniform(0,1)", uniform(5, 0, 1), 5);
  seed(42); bits("seed42 uniform(0,1)", uniform(8, 0, 1), 8);
  struct { uint64_t s; long r, in, out; } cases[] = {{0, 4, 384, 384}, {255, 8, 32, 48}, {42, 256, 384, 1536}, {0xfffffffffffffffeull, 2, 5, 3}};
  for (auto c : cases) {
    seed(c.s);
    auto a = uniform(c.r * c.in, -bound(c.in), bound(c.in));
    auto b = uniform(c.out * c.r, -bound(c.r), bound(c.r));
    printf("vera seed %llu r %ld in %ld out %ld: fnv A %016llx B %016llx\n", (unsigned long long)c.s, c.r, c.in, c.out, (unsigned long long)fnv(a), (unsigned long long)fnv(b));
    bits("  A", a, 3); bits("  B", b, 3);
    printf("  A last %.9g B last %.9g\n", a.back(), b.back());
  }
  seed(7); auto big = uniform(1000000, -0.3, 0.7); printf("seed7 uniform(-0.3,0.7) x1e6 fnv %016llx\n", (unsigned long long)fnv(big));
}
