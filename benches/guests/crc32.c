/* Benchmark: table-driven CRC-32 over a 1 MiB buffer, 12 times. */
#include <stdint.h>
#include <stdio.h>

#define LEN (1024 * 1024)
static uint8_t buf[LEN];
static uint32_t table[256];

int main(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (uint32_t i = 0; i < LEN; i++)
        buf[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
    uint32_t crc = 0;
    for (int round = 0; round < 12; round++) {
        crc = ~crc;
        for (uint32_t i = 0; i < LEN; i++)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
        crc = ~crc;
    }
    printf("crc32 %08lx\n", (unsigned long)crc);
    return 0;
}
