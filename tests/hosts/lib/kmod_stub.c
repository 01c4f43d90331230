/* Stub kernel module object for a test host's /lib/modules/<guest release>: a relocatable
 * ELF with .modinfo, an exported symbol (fat) or an undefined one (vfat -> fat), so the
 * guest rootfs' own depmod/modprobe/modinfo treat it like the real fat.ko/vfat.ko
 * (`modprobe -n -v vfat` prints the two insmod lines).  Never loaded. */
#ifndef MOD_NAME
#error "define MOD_NAME"
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
struct kernel_symbol { unsigned long value; const char *name; };
#ifdef MOD_FAT
int fat_fill_super(void) { return 0; }
static const char __kstrtab_fat_fill_super[] __attribute__((section("__ksymtab_strings"), used)) = "fat_fill_super";
const struct kernel_symbol __ksymtab_fat_fill_super __attribute__((section("___ksymtab+fat_fill_super"), used)) =
    { (unsigned long)&fat_fill_super, __kstrtab_fat_fill_super };
#define DEPENDS ""
#else
extern int fat_fill_super(void);
int vfat_mount(void) { return fat_fill_super(); }
#define DEPENDS "fat"
#endif
static const char __modinfo[] __attribute__((section(".modinfo"), used, aligned(1))) =
    "license=GPL\0" "alias=fs-" STR(MOD_NAME) "\0" "depends=" DEPENDS "\0" "retpoline=Y\0" "intree=Y\0"
    "name=" STR(MOD_NAME) "\0" "vermagic=" VERMAGIC "\0";
char __this_module[64] __attribute__((section(".gnu.linkonce.this_module"))) = {0};
